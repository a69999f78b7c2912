//! The `clawgate` command line: parses arguments and calls the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use clawgate::config::{self, AgentName};
use clawgate::logging::{self, LogFormat};
use clawgate::run::{self, Options};
use clawgate::tls::CertificateAuthority;

/// An intercepting TLS egress gateway for AI agents.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// How log lines on standard error look.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "CLAWGATE_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Run {
        /// The rule directory.
        #[arg(long, default_value = "policies", env = "CLAWGATE_RULES")]
        rules: PathBuf,
        /// Where the CA is kept (created on first run).
        #[arg(long, default_value = "certs", env = "CLAWGATE_CA_DIR")]
        ca_dir: PathBuf,
        /// Listen for agents here instead of `gateway.listen`.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Serve the admin API here instead of `gateway.admin`.
        #[arg(long)]
        admin: Option<SocketAddr>,
    },
    /// Manage clawgate's certificate authority.
    Ca {
        #[command(subcommand)]
        command: CaCommand,
        /// Where the CA is kept.
        #[arg(long, global = true, default_value = "certs", env = "CLAWGATE_CA_DIR")]
        ca_dir: PathBuf,
    },
    /// Manage the agents allowed to use the proxy.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
        /// The rule directory.
        #[arg(
            long,
            global = true,
            default_value = "policies",
            env = "CLAWGATE_RULES"
        )]
        rules: PathBuf,
    },
}

#[derive(Subcommand)]
enum CaCommand {
    /// Create a new CA (refuses to overwrite one).
    Init,
    /// Print the CA certificate's path and SHA-256 fingerprint.
    Show,
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Add an agent with a new random token; prints its proxy URL once.
    Add {
        /// The agent's name (letters, digits, `-`, `_`, `.`).
        name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clawgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn execute(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run {
            rules,
            ca_dir,
            listen,
            admin,
        } => {
            let options = Options {
                rules,
                ca_dir,
                listen,
                admin,
            };
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(run::run(options, run::shutdown_signal()))?;
        }
        Command::Ca {
            command: CaCommand::Init,
            ca_dir,
        } => {
            let ca = CertificateAuthority::create(&ca_dir)?;
            println!(
                "created {} (SHA-256 {})",
                ca.cert_path().display(),
                ca.fingerprint()
            );
        }
        Command::Ca {
            command: CaCommand::Show,
            ca_dir,
        } => {
            let ca = CertificateAuthority::load(&ca_dir)?;
            println!("{}\nSHA-256 {}", ca.cert_path().display(), ca.fingerprint());
        }
        Command::Agent {
            command: AgentCommand::Add { name },
            rules,
        } => {
            let name = AgentName::parse(&name).map_err(anyhow::Error::msg)?;
            let added = config::add_agent(&rules, &name)?;
            println!(
                "added agent `{name}` to {}\nIts proxy URL (shown only now; clawgate keeps only a hash):\n\
                 HTTPS_PROXY=http://{name}:{}@{}",
                added.file.display(),
                added.token.reveal(),
                added.listen,
            );
        }
    }
    Ok(())
}
