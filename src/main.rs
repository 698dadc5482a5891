//! Thin entry point: parse the command line, start logging, dispatch.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    sitewatch::telemetry::init();
    match sitewatch::cli::Cli::parse().run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
