//! Thin entry point: set up the allocator, parse the command line, start logging, dispatch.

use clap::Parser;

fn main() -> std::process::ExitCode {
    // Before the runtime starts any thread: arenas are handed out as threads first allocate.
    sitewatch::memory::tune_allocator();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        sitewatch::telemetry::init();
        match sitewatch::cli::Cli::parse().run().await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                std::process::ExitCode::FAILURE
            }
        }
    })
}
