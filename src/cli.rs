//! The command line: `serve`, `demo`, `simulate`, `check`, `migrate`, `import`,
//! `device read` (commissioning), `bench`, `user` / `token` (accounts), and going live:
//! `init`, `profiles`, `backup`, `restore`.

mod estate_demo;
mod plan;
mod site;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sitewatch_core::clock::SystemClock;

use crate::app::App;
use crate::broker::EmbeddedBroker;
use crate::config::{Config, DEMO_CONFIG};
use crate::devices::{self, modbus::commission, sensors::SimSensors, simulator::Simulator};
use crate::shutdown;
use crate::store::Store;

/// sitewatch: building operations for a property site.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run against the devices of a site config.
    Serve {
        /// The site config.
        #[arg(long, short, default_value = "site.toml")]
        config: PathBuf,
    },
    /// Run the whole system on a simulated plant, with SQLite in a data directory.
    Demo {
        /// Dashboard and API address.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Where the SQLite file goes.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// A real MQTT broker (`mqtt://host:port`) instead of the embedded one.
        #[arg(long, env = "SITEWATCH_MQTT_URL")]
        mqtt_url: Option<String>,
        /// A site config in place of the built-in demo plant (its devices simulated, its
        /// listen address and database replaced by `--listen` and `--data-dir`): how
        /// `scripts/fleet-demo` runs three demo sites with `[central]`.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Run the central office: every site's records from NATS JetStream into PostgreSQL,
    /// and the fleet view.
    Central {
        /// The central config.
        #[arg(long, short, default_value = "central.toml")]
        config: PathBuf,
        /// The centre's operators and tokens; without one, the centre runs.
        #[command(subcommand)]
        command: Option<CentralCommand>,
    },
    /// Serve only the simulated plant over Modbus TCP (the demo config's devices).
    Simulate {
        /// Modbus TCP address.
        #[arg(long, default_value = "127.0.0.1:5020")]
        listen: SocketAddr,
        /// Site config whose devices to simulate; the demo plant when omitted.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Serve simulated meter gateways and the demo plant for `bench estate` (prints the
    /// ports it listens on).
    #[command(hide = true)]
    SimulateEstate {
        /// Gateways, each on its own loopback port.
        #[arg(long, default_value_t = 50)]
        gateways: usize,
        /// Unit ids per gateway.
        #[arg(long, default_value_t = 200)]
        per_gateway: usize,
    },
    /// Run the daemon for `bench estate` in a process of its own, its clock stopped at
    /// the bench's start and moved by `advance SECONDS` lines on stdin (prints its address;
    /// stops at the end of stdin).
    #[command(hide = true)]
    EstateDaemon {
        /// The bench's site config.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a site config and its profiles; every problem with file and line.
    Check {
        /// The site config.
        #[arg(long, short, default_value = "site.toml")]
        config: PathBuf,
    },
    /// Import records from a spreadsheet's CSV (all rows or none).
    Import {
        /// What to import.
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Export records as CSV to standard output.
    Export {
        /// What to export.
        #[command(subcommand)]
        what: ExportCommand,
    },
    /// Commissioning: talk to one device of a site config.
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Benchmarks (run with `--release`).
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// People who sign in: `user add NAME --role ROLE`, `user list`.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens for devices and integrations: `token create`, `token revoke`.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Write a commented `site.toml` for a new site into DIR (never over an existing one).
    Init {
        /// The folder for the new site.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// List the device profiles: the built-in ones, and a site's own with `--config`.
    Profiles {
        /// A site config whose `[profiles] dir` is added.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Copy a running SQLite site's database to FILE, consistently (PostgreSQL: pg_dump).
    Backup {
        /// The site config (its `database.url`).
        #[arg(long, short, default_value = "site.toml")]
        config: PathBuf,
        /// Where the copy goes; must not exist.
        file: PathBuf,
    },
    /// Put a backup in place of the site's SQLite database (stop the daemon first).
    Restore {
        /// The site config (its `database.url`).
        #[arg(long, short, default_value = "site.toml")]
        config: PathBuf,
        /// The backup file.
        file: PathBuf,
        /// Replace a database that holds records.
        #[arg(long)]
        overwrite: bool,
    },
    /// Apply database migrations and exit.
    Migrate {
        /// The site config (its `database.url`).
        #[arg(long, short, default_value = "site.toml")]
        config: PathBuf,
    },
}

/// What `import` reads.
#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// The unit register: buildings, floors, units, owners, tenants and occupancy.
    Units {
        /// The site config (its `database.url`).
        #[arg(long, short, default_value = "site.toml")]
        config: PathBuf,
        /// The CSV file.
        file: PathBuf,
    },
    /// The meter register: each household meter's unit, kind, profile, gateway and unit
    /// id (`meter,unit,kind,profile,gateway,unit_id[,multiplier]`); it replaces the
    /// register, read by the daemon at its next start.
    Meters {
        /// The site config (its `database.url`, `[[gateways]]` and profiles).
        #[arg(long, short, default_value = "site.toml")]
        config: PathBuf,
        /// The CSV file.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ExportCommand {
    /// The meter readings kept at a billing cut-off (抄表), for Finance.
    MeterSnapshots {
        /// `YYYY-MM`.
        #[arg(long)]
        period: String,
        /// The site config (its `database.url`).
        #[arg(long, short, default_value = "site.toml")]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum CentralCommand {
    /// The centre's operators: `central user add NAME --role ROLE`, `central user list`.
    User {
        #[command(subcommand)]
        command: CentralUserCommand,
    },
    /// An API token for an integration at the centre, printed once.
    Token {
        /// The token's name.
        name: String,
        /// admin, duty_engineer, guard, customer_service or viewer.
        #[arg(long)]
        role: crate::access::Role,
        /// The central config (its `database.url`).
        #[arg(long, short, default_value = "central.toml")]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum CentralUserCommand {
    /// Add an operator; the password is prompted for, or read from stdin or a file.
    Add {
        /// Log-in name.
        name: String,
        /// admin, duty_engineer, guard, customer_service or viewer.
        #[arg(long)]
        role: crate::access::Role,
        /// Read the password from stdin (one line) without a prompt.
        #[arg(long)]
        password_stdin: bool,
        /// Read the password from the first line of this file.
        #[arg(long, conflicts_with = "password_stdin")]
        password_file: Option<PathBuf>,
        /// The central config (its `database.url`).
        #[arg(long, short, default_value = "central.toml")]
        config: PathBuf,
    },
    /// List the operators and their roles.
    List {
        /// The central config.
        #[arg(long, short, default_value = "central.toml")]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; the password is prompted for, or read from stdin.
    Add {
        /// Log-in name.
        name: String,
        /// admin, duty_engineer, guard, customer_service or viewer.
        #[arg(long)]
        role: crate::access::Role,
        /// Read the password from stdin (one line) without a prompt.
        #[arg(long)]
        password_stdin: bool,
        /// The site config (its `database.url`).
        #[arg(long, short, default_value = "site.toml")]
        config: PathBuf,
    },
    /// List users and their roles.
    List {
        /// The site config.
        #[arg(long, short, default_value = "site.toml")]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it once.
    Create {
        /// The token's name (the actor in the audit trail).
        name: String,
        /// The role it acts with.
        #[arg(long)]
        role: crate::access::Role,
        /// The site config.
        #[arg(long, short, default_value = "site.toml")]
        config: PathBuf,
    },
    /// Revoke every live token of this name.
    Revoke {
        /// The token's name.
        name: String,
        /// The site config.
        #[arg(long, short, default_value = "site.toml")]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// Read every point of one device once and print raw registers and decoded values.
    Read {
        /// The device id.
        name: String,
        /// The site config.
        #[arg(long, short, default_value = "site.toml")]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Poll simulated devices on loopback: sitewatch's buses against a bare tokio-modbus loop.
    Modbus {
        /// Simulated devices, one connection each.
        #[arg(long, default_value_t = 200)]
        devices: usize,
        /// Holding registers per device.
        #[arg(long, default_value_t = 20)]
        registers: u16,
        /// Seconds per phase (four phases per round).
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Rounds of the four phases; the ratios printed are the rounds' medians.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// MQTT ingest: messages/s into sitewatch against a bare rumqttc subscriber.
    Mqtt {
        /// Messages per phase.
        #[arg(long, default_value_t = 100_000)]
        messages: u64,
        /// Topics (devices) they are spread over.
        #[arg(long, default_value_t = 100)]
        devices: usize,
        /// Rounds of both phases, alternating which goes first; the median is reported.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// Resident memory of the whole daemon polling many devices (simulator in another process).
    Rss {
        /// Devices, one connection each.
        #[arg(long, default_value_t = 1000)]
        devices: usize,
        /// Holding registers per device.
        #[arg(long, default_value_t = 20)]
        registers: u16,
        /// Polls per second over all devices.
        #[arg(long, default_value_t = 2000.0)]
        rate: f64,
        /// Seconds to run before reading the memory.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// A housing estate's meters behind gateways (issue 24) against a bare sweep.
    Estate {
        /// Households: a power and a water meter each.
        #[arg(long, default_value_t = 5000)]
        households: usize,
        /// Unit ids per gateway.
        #[arg(long, default_value_t = 200)]
        per_gateway: usize,
        /// Seconds between sweeps.
        #[arg(long, default_value_t = 2)]
        cadence: u64,
        /// Seconds each phase runs for the CPU figures.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// The alarm engine's cost per reading, and reading-to-MQTT-event latency end to end.
    Alarms {
        /// Points with a threshold rule each.
        #[arg(long, default_value_t = 10_000)]
        points: usize,
        /// Of those, how many stay in alarm.
        #[arg(long, default_value_t = 1_000)]
        active: usize,
        /// Readings fed through the engine.
        #[arg(long, default_value_t = 1_000_000)]
        readings: usize,
        /// Alarms raised end to end for the latency figures.
        #[arg(long, default_value_t = 300)]
        events: usize,
    },
    /// Sites into one central consumer over NATS JetStream and PostgreSQL (issue 23):
    /// outage drain against a bare async-nats consumer, sustained rate, lag, sites carried.
    Fleet {
        /// Sites in the outage and the first live step (live steps double it).
        #[arg(long, default_value_t = 20)]
        sites: usize,
        /// Records per second per site, history aside.
        #[arg(long, default_value_t = 5.0)]
        rate: f64,
        /// Point history: `recorded` (the demo site's measured rate) or `none`.
        #[arg(long, default_value = "recorded", value_parser = ["recorded", "none"])]
        history: String,
        /// Seconds each live step runs.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Minutes of outage pre-loaded in the stream before the drain.
        #[arg(long, default_value_t = 60)]
        outage_minutes: u64,
        /// Live steps double the sites up to this.
        #[arg(long, default_value_t = 1280)]
        max_sites: usize,
        /// The central PostgreSQL database; a fresh one on 127.0.0.1:5432 when omitted
        /// (made and dropped by the bench).
        #[arg(long)]
        database_url: Option<String>,
        /// A small run for tests: 2 sites, 1 minute of outage, 2 s steps up to 4 sites.
        #[arg(long)]
        quick: bool,
    },
    /// Pages for a flood of alarms: raise-to-page latency and pages against the flood rule.
    Paging {
        /// Alarms raised.
        #[arg(long, default_value_t = 1_000)]
        alarms: usize,
        /// Over this many seconds.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

impl Cli {
    /// Runs the chosen command.
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Serve { config } => serve(load(&config)?).await,
            Command::Central { config, command } => match command {
                None => central(&config).await,
                Some(command) => central_accounts(command).await,
            },
            Command::Demo {
                listen,
                data_dir,
                mqtt_url,
                config,
            } => {
                let config = match config {
                    Some(path) => load(&path)?,
                    None => demo_config()?,
                };
                demo(config, listen, &data_dir, mqtt_url).await
            }
            Command::Simulate { listen, config } => simulate(listen, config.as_deref()).await,
            Command::SimulateEstate {
                gateways,
                per_gateway,
            } => crate::bench::estate::simulate(gateways, per_gateway).await,
            Command::EstateDaemon { config } => crate::bench::estate::daemon(load(&config)?).await,
            Command::Check { config } => check(&config),
            Command::Migrate { config } => migrate(&load(&config)?).await,
            Command::Init { dir } => site::init(&dir),
            Command::Profiles { config } => site::list_profiles(config.as_deref()),
            Command::Backup { config, file } => crate::backup::backup(&load(&config)?, &file).await,
            Command::Restore {
                config,
                file,
                overwrite,
            } => crate::backup::restore(&load(&config)?, &file, overwrite).await,
            Command::Import {
                what: ImportCommand::Units { config, file },
            } => import_units(&load(&config)?, &file).await,
            Command::Import {
                what: ImportCommand::Meters { config, file },
            } => import_meters(&load(&config)?, &file).await,
            Command::Export {
                what: ExportCommand::MeterSnapshots { period, config },
            } => {
                let store = Store::connect(&load(&config)?.database.url).await?;
                print!(
                    "{}",
                    crate::billing::to_csv(&store.snapshots(&period).await?)
                );
                Ok(())
            }
            Command::Device {
                command: DeviceCommand::Read { name, config },
            } => device_read(&load(&config)?, &name).await,
            Command::User { command } => user(command).await,
            Command::Token { command } => token(command).await,
            Command::Bench {
                command:
                    BenchCommand::Modbus {
                        devices,
                        registers,
                        seconds,
                        rounds,
                    },
            } => {
                let opts = crate::bench::BenchOptions {
                    devices,
                    registers,
                    seconds,
                    rounds,
                };
                // The bench builds its own runtimes, so it runs on a plain thread.
                let bench = std::thread::spawn(move || crate::bench::run(opts));
                tokio::task::spawn_blocking(move || bench.join())
                    .await?
                    .map_err(|_| anyhow::anyhow!("the benchmark panicked"))?
            }
            Command::Bench {
                command:
                    BenchCommand::Estate {
                        households,
                        per_gateway,
                        cadence,
                        seconds,
                    },
            } => {
                let opts = crate::bench::estate::EstateOptions {
                    households,
                    per_gateway,
                    cadence,
                    seconds,
                };
                crate::bench::estate::run(opts).await
            }
            Command::Bench {
                command:
                    BenchCommand::Rss {
                        devices,
                        registers,
                        rate,
                        seconds,
                    },
            } => {
                let opts = crate::bench::rss::RssOptions {
                    devices,
                    registers,
                    rate,
                    seconds,
                };
                crate::bench::rss::run(opts).await
            }
            Command::Bench {
                command:
                    BenchCommand::Mqtt {
                        messages,
                        devices,
                        rounds,
                    },
            } => {
                crate::bench::mqtt::run(crate::bench::mqtt::MqttBenchOptions {
                    messages,
                    devices,
                    rounds,
                })
                .await
            }
            Command::Bench {
                command:
                    BenchCommand::Alarms {
                        points,
                        active,
                        readings,
                        events,
                    },
            } => {
                let o = crate::bench::alarms::AlarmBenchOptions {
                    points,
                    active,
                    readings,
                    events,
                };
                crate::bench::alarms::run(o).await
            }
            Command::Bench {
                command:
                    BenchCommand::Fleet {
                        sites,
                        rate,
                        history,
                        seconds,
                        outage_minutes,
                        max_sites,
                        database_url,
                        quick,
                    },
            } => {
                use crate::bench::fleet::{DEMO_HISTORY_PER_S, FleetOptions, run};
                let history = if history == "none" {
                    0.0
                } else {
                    DEMO_HISTORY_PER_S
                };
                let o = FleetOptions {
                    sites,
                    rate,
                    history,
                    seconds,
                    outage_minutes,
                    max_sites,
                    database_url,
                };
                run(if quick { o.quick() } else { o }).await
            }
            Command::Bench {
                command: BenchCommand::Paging { alarms, seconds },
            } => {
                let o = crate::bench::paging::PagingBenchOptions { alarms, seconds };
                crate::bench::paging::run(o).await
            }
        }
    }
}

fn load(path: &Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|p| anyhow::anyhow!("invalid config:\n{p}"))
}

fn demo_config() -> anyhow::Result<Config> {
    Config::parse(Path::new("examples/demo/site.toml"), DEMO_CONFIG, None)
        .map_err(|p| anyhow::anyhow!("built-in demo config is invalid:\n{p}"))
}

async fn user(command: UserCommand) -> anyhow::Result<()> {
    use crate::accounts;
    match command {
        UserCommand::Add {
            name,
            role,
            password_stdin,
            config,
        } => accounts::add_user(&store(&config).await?, &name, role, password_stdin).await,
        UserCommand::List { config } => accounts::list_users(&store(&config).await?).await,
    }
}

async fn token(command: TokenCommand) -> anyhow::Result<()> {
    use crate::accounts;
    match command {
        TokenCommand::Create { name, role, config } => {
            accounts::create_token(&store(&config).await?, &name, role).await
        }
        TokenCommand::Revoke { name, config } => {
            accounts::revoke_token(&store(&config).await?, &name).await
        }
    }
}

/// The config's database, migrated.
async fn store(config: &Path) -> anyhow::Result<Store> {
    let store = Store::connect(&load(config)?.database.url).await?;
    store.migrate().await?;
    Ok(store)
}

async fn central_accounts(command: CentralCommand) -> anyhow::Result<()> {
    use crate::accounts::PasswordFrom;
    use crate::central::users;
    let pool = |config: &Path| {
        let config = config.to_owned();
        async move {
            let c =
                crate::central::CentralConfig::load(&config).map_err(|p| anyhow::anyhow!("{p}"))?;
            crate::central::db::connect(&c.database.url).await
        }
    };
    match command {
        CentralCommand::User {
            command:
                CentralUserCommand::Add {
                    name,
                    role,
                    password_stdin,
                    password_file,
                    config,
                },
        } => {
            let from = match (&password_file, password_stdin) {
                (Some(file), _) => PasswordFrom::File(file),
                (None, true) => PasswordFrom::Stdin,
                (None, false) => PasswordFrom::Prompt(&name),
            };
            let password = crate::accounts::read_password(from)?;
            users::add_cli(&pool(&config).await?, &name, role, &password).await
        }
        CentralCommand::User {
            command: CentralUserCommand::List { config },
        } => users::list_cli(&pool(&config).await?).await,
        CentralCommand::Token { name, role, config } => {
            users::token_cli(&pool(&config).await?, &name, role).await
        }
    }
}

async fn central(path: &Path) -> anyhow::Result<()> {
    let config = crate::central::CentralConfig::load(path).map_err(|p| anyhow::anyhow!("{p}"))?;
    crate::central::run(config, shutdown::on_signals()).await
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let database = crate::app::redact(&config.database.url);
    let devices = config.devices.len();
    let app = App::build(config, Arc::new(SystemClock)).await?;
    tracing::info!(url = %format!("http://{}/", app.addr()), devices, "sitewatch serving");
    tracing::info!(database = %database, "records kept in the database");
    match app.store().user_count().await {
        // App::build has refused any but a loopback address while no user exists.
        Ok(0) => tracing::warn!(
            listen = %app.addr(),
            "no user exists: the API is open, without sign-in, to anyone on this machine, \
             and only on loopback (a public listen address is refused until a user exists); \
             create the first admin with `sitewatch user add NAME --role admin`"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not count users"),
    }
    app.run_until_stopped(shutdown::on_signals()).await
}

async fn demo(
    mut config: Config,
    listen: SocketAddr,
    data_dir: &Path,
    mqtt_url: Option<String>,
) -> anyhow::Result<()> {
    let sim = Simulator::start(
        "127.0.0.1:0".parse()?,
        &devices::sim_devices(&config.devices),
    )
    .await
    .context("Failed to start the simulated plant")?;
    for m in config
        .devices
        .iter_mut()
        .filter_map(|d| d.config.modbus.as_mut())
    {
        m.address = sim.addr().to_string();
    }
    let broker = demo_broker(&mut config, mqtt_url).await?;
    config.http.listen = listen;
    config.database.url = format!("sqlite://{}", data_dir.join("sitewatch.db").display());
    let sensors = SimSensors::new(&config)?;
    let url = config.database.url.clone();
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    crate::accounts::seed_demo(&store).await?;
    let central = (config.central.as_ref())
        .map(|c| format!("{} as site {}", c.url, c.site_id(&config.site.id)));
    crate::customers::seed_demo(&url).await?;
    let gateways = estate_demo::start(&mut config, &store).await?;
    let app = App::build(config, Arc::new(SystemClock)).await?;
    plan::seed_demo(&store).await?;
    println!("sitewatch demo: simulated plant on modbus://{}", sim.addr());
    for g in &gateways {
        println!("meter gateway:  modbus://{}", g.addr());
    }
    println!("mqtt broker:    {broker}");
    println!("dashboard:      http://{}/", app.addr());
    println!("metrics:        http://{}/metrics", app.addr());
    println!("data:           {}", data_dir.display());
    if let Some(central) = central {
        println!("central:        {central}");
    }
    println!("stop with Ctrl-C");
    let cancel = shutdown::on_signals();
    tokio::spawn(sensors.run(cancel.clone()));
    app.run_until_stopped(cancel).await
}

/// The broker the demo uses: the given one, or an embedded one. Returns its URL.
async fn demo_broker(config: &mut Config, url: Option<String>) -> anyhow::Result<String> {
    let url = match url.or_else(|| config.mqtt.url.clone()) {
        Some(url) => url,
        None => {
            // rumqttd closes the connection of a client that asks for `$SYS`.
            config.mqtt.broker_stats = false;
            EmbeddedBroker::start().await?.url()
        }
    };
    config.mqtt.url = Some(url.clone());
    Ok(url)
}

async fn simulate(listen: SocketAddr, config: Option<&Path>) -> anyhow::Result<()> {
    let config = match config {
        Some(path) => load(path)?,
        None => demo_config()?,
    };
    let sim = Simulator::start(listen, &devices::sim_devices(&config.devices)).await?;
    println!(
        "simulated plant on modbus://{}; stop with Ctrl-C",
        sim.addr()
    );
    shutdown::on_signals().cancelled().await;
    Ok(())
}

fn check(path: &Path) -> anyhow::Result<()> {
    let config = load(path)?;
    // Warnings do not refuse the file: a rota gap still lets the daemon run (the gap
    // raises its alarm at run time), but the site engineer should see it now.
    for w in &config.warnings.0 {
        println!("warning: {w}");
    }
    let points: usize = devices::specs(&config.devices).1.len();
    println!(
        "{}: ok ({} devices, {points} points)",
        path.display(),
        config.devices.len()
    );
    site::print_profiles_used(&config);
    Ok(())
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    let store = Store::connect(&config.database.url).await?;
    store.migrate().await?;
    println!("migrations applied");
    Ok(())
}

/// With `[central]`, a register imported from the command line travels to the centre
/// like one imported over HTTP: its rows go into the outbox with it, for the running
/// daemon's forwarder (nothing measures the buffer here, so its gate stays open).
fn forward_registers(config: &Config, store: &Store) {
    if config.central.is_some() {
        store.set_central(crate::store::central::Feed::records_only());
    }
}

async fn import_units(config: &Config, file: &Path) -> anyhow::Result<()> {
    let text = std::fs::read(file).with_context(|| format!("Failed to read {}", file.display()))?;
    let store = Store::connect(&config.database.url).await?;
    store.migrate().await?;
    forward_registers(config, &store);
    let now = chrono::Utc::now();
    match crate::customers::import(&store, &text, "cli", now).await {
        Ok(s) => {
            println!(
                "{}: {} units created, {} updated, {} changed occupancy",
                file.display(),
                s.created,
                s.updated,
                s.occupancy_changed
            );
            Ok(())
        }
        Err(crate::customers::ImportError::Rows(rows)) => {
            for r in &rows {
                eprintln!("{}:{}: {}", file.display(), r.line, r.reason);
            }
            anyhow::bail!("{} invalid rows; nothing was imported", rows.len())
        }
        Err(e) => Err(e.into()),
    }
}

async fn import_meters(config: &Config, file: &Path) -> anyhow::Result<()> {
    let text = std::fs::read(file).with_context(|| format!("Failed to read {}", file.display()))?;
    let store = Store::connect(&config.database.url).await?;
    store.migrate().await?;
    forward_registers(config, &store);
    let targets = config.register_targets();
    let known = crate::customers::meters::Known {
        gateways: targets.gateways,
        profiles: targets.profiles,
        units: store.unit_buildings().await?.into_keys().collect(),
        devices: targets.devices,
    };
    let now = chrono::Utc::now();
    match crate::customers::import_meters(&store, &text, &known, "cli", now).await {
        Ok(meters) => {
            println!(
                "{}: {} meters in the register; a running daemon reads them at its next start (`POST /api/v1/meters/import` takes effect at once)",
                file.display(),
                meters.len()
            );
            Ok(())
        }
        Err(crate::customers::ImportError::Rows(rows)) => {
            for r in &rows {
                eprintln!("{}:{}: {}", file.display(), r.line, r.reason);
            }
            anyhow::bail!("{} invalid lines; nothing was imported", rows.len())
        }
        Err(e) => Err(e.into()),
    }
}

async fn device_read(config: &Config, name: &str) -> anyhow::Result<()> {
    let device = config
        .devices
        .iter()
        .find(|d| d.config.id == name)
        .ok_or_else(|| anyhow::anyhow!("no device `{name}` in the config"))?;
    let m = device
        .config
        .modbus
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("`{name}` is not a Modbus device"))?;
    println!(
        "{} ({}) at {} unit {}",
        device.config.id,
        device.profile.id,
        m.endpoint(),
        m.unit_id
    );
    let rows = commission::read_device(device).await;
    print!("{}", commission::format_table(&rows));
    if commission::all_failed(&rows) {
        anyhow::bail!("every read of `{name}` failed: nothing was read from the device");
    }
    Ok(())
}
