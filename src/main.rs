//! The `clawgate` command line: parses arguments and calls the library.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use clawgate::approval::Choice;
use clawgate::approval::cli::{self, AdminClient};
use clawgate::config::{self, ProcessEnvironment, TestRequest};
use clawgate::ids::{AgentName, HoldId};
use clawgate::logging::{self, LogFormat};
use clawgate::policy::tooling;
use clawgate::run::{self, Options};
use clawgate::secret::Secret;
use clawgate::tls::CertificateAuthority;

/// mimalloc: every request allocates and frees its facts, its record and
/// hyper's and rustls's buffers across threads, where glibc's allocator
/// spent a sixth of the proxy's CPU (see benches/load/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An intercepting TLS egress gateway for AI agents.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// How log lines on standard error look.
    #[arg(long, global = true, value_enum, default_value = "text", env = "CLAWGATE_LOG_FORMAT")]
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
        /// Write audit records here instead of `gateway.audit_log` (default audit/audit.jsonl).
        #[arg(long, env = "CLAWGATE_AUDIT_LOG")]
        audit_log: Option<PathBuf>,
        /// Threads serving requests (default: one less than the cores, at least one).
        #[arg(long, env = "CLAWGATE_WORKER_THREADS")]
        worker_threads: Option<NonZeroUsize>,
    },
    /// Manage clawgate's certificate authority.
    Ca {
        #[command(subcommand)]
        command: CaCommand,
        /// Where the CA is kept.
        #[arg(long, global = true, default_value = "certs", env = "CLAWGATE_CA_DIR")]
        ca_dir: PathBuf,
    },
    /// Print AWS CLI/SDK profiles for the accounts of the aws_api endpoints.
    Profiles {
        /// The rule directory.
        #[arg(long, default_value = "policies", env = "CLAWGATE_RULES")]
        rules: PathBuf,
        /// Where the CA is kept.
        #[arg(long, default_value = "certs", env = "CLAWGATE_CA_DIR")]
        ca_dir: PathBuf,
    },
    /// Check, test and explain rules.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// List, allow and deny requests held for approval (through the admin API).
    Approvals {
        #[command(subcommand)]
        command: ApprovalsCommand,
        /// The admin server.
        #[arg(long, global = true, default_value = "http://127.0.0.1:8081", env = "CLAWGATE_ADMIN")]
        admin: String,
        /// The admin token clawgate printed at first run.
        #[arg(long, global = true, env = "CLAWGATE_ADMIN_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Manage the agents allowed to use the proxy.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
        /// The rule directory.
        #[arg(long, global = true, default_value = "policies", env = "CLAWGATE_RULES")]
        rules: PathBuf,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Load the rules and report every error at once.
    Check {
        /// The rule directory.
        #[arg(default_value = "policies")]
        dir: PathBuf,
    },
    /// Run the rule tests (`*.test.hcl`) kept next to the rules.
    Test {
        /// The rule directory.
        #[arg(default_value = "policies")]
        dir: PathBuf,
    },
    /// Show a request's facets, what each rule makes of it, and the decision.
    Explain {
        /// The request's URL, e.g. https://s3.amazonaws.com/bucket/key.
        url: String,
        /// The rule directory.
        #[arg(long, default_value = "policies")]
        rules: PathBuf,
        /// The request's method.
        #[arg(long, short = 'X', default_value = "GET")]
        method: String,
        /// A header, as `Name: value` (repeatable).
        #[arg(long = "header", short = 'H')]
        headers: Vec<String>,
        /// The request's body.
        #[arg(long, short = 'd', default_value = "")]
        body: String,
        /// The agent sending it.
        #[arg(long, default_value = "local")]
        agent: String,
        /// An `aws` facet field, as `field=value` (repeatable), e.g. action=GetObject; a list
        /// field's items comma-separated, e.g. iam_actions=s3:PutObject,kms:GenerateDataKey.
        #[arg(long = "aws")]
        aws: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ApprovalsCommand {
    /// List the requests waiting for approval.
    List,
    /// Allow a held request (as one of its approvers, in turn).
    Allow(DecideArgs),
    /// Deny a held request; the agent is told who denied it and why.
    Deny(DecideArgs),
}

/// Which hold, who decides, and why.
#[derive(Args)]
struct DecideArgs {
    /// The hold's id, from `approvals list`.
    id: HoldId,
    /// Who decides (recorded in the audit log; a denial names them to the agent).
    #[arg(long = "as", env = "USER", default_value = "cli")]
    by: String,
    /// Why (recorded in the audit log; a denial's reason is told to the agent).
    #[arg(long)]
    reason: Option<String>,
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
        Ok(code) => code,
        Err(e) => {
            eprintln!("clawgate: {}", explain(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping a cause whose words the
/// message already carries.
fn explain(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text = format!("{text}: {cause}");
        }
    }
    text
}

/// `clawgate policy …`: prints its report; exit 1 when it finds a problem.
fn policy(command: PolicyCommand) -> ExitCode {
    let env = ProcessEnvironment;
    let report = match command {
        PolicyCommand::Check { dir } => tooling::check(&dir, &env),
        PolicyCommand::Test { dir } => tooling::test(&dir, &env),
        PolicyCommand::Explain {
            url,
            rules,
            method,
            headers,
            body,
            agent,
            aws,
        } => {
            let agent = match AgentName::parse(&agent) {
                Ok(agent) => agent,
                Err(e) => {
                    eprintln!("clawgate: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let split = |text: &String, on: char| {
                let (k, v) = text.split_once(on).unwrap_or((text, ""));
                (k.trim().to_string(), v.trim().to_string())
            };
            let headers = headers.iter().map(|h| split(h, ':')).collect();
            let aws = aws.iter().map(|a| split(a, '=')).collect();
            tooling::explain(
                &rules,
                &env,
                TestRequest {
                    method,
                    url,
                    headers,
                    body,
                },
                agent,
                aws,
            )
        }
    };
    print!("{}", report.text);
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn execute(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Policy { command } => return Ok(policy(command)),
        Command::Profiles { rules, ca_dir } => {
            let config = config::Config::load_dir(&rules)?;
            let (ca, _) = CertificateAuthority::load_or_create(&ca_dir)?;
            let ca_path = std::fs::canonicalize(ca.cert_path()).unwrap_or_else(|_| ca.cert_path().to_path_buf());
            print!("{}", clawgate::aws::profiles::render(&config, &ca_path));
        }
        Command::Run {
            rules,
            ca_dir,
            listen,
            admin,
            audit_log,
            worker_threads,
        } => {
            let options = Options {
                rules,
                ca_dir,
                listen,
                admin,
                audit_log,
            };
            let runtime = run::runtime(worker_threads).context("cannot start the async runtime")?;
            runtime.block_on(run::run(options, run::shutdown_signal()))?;
        }
        Command::Approvals { command, admin, token } => {
            let token = token.context("give the admin token with --token or CLAWGATE_ADMIN_TOKEN")?;
            let client = AdminClient::new(&admin, Secret::new(token))?;
            let decide = |choice, args: DecideArgs| cli::Command::Decide {
                id: args.id,
                choice,
                by: args.by,
                reason: args.reason,
            };
            let request = match command {
                ApprovalsCommand::List => cli::Command::List,
                ApprovalsCommand::Allow(args) => decide(Choice::Allow, args),
                ApprovalsCommand::Deny(args) => decide(Choice::Deny, args),
            };
            let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            print!("{}", runtime.block_on(cli::run(&client, request))?);
        }
        Command::Ca {
            command: CaCommand::Init,
            ca_dir,
        } => {
            let ca = CertificateAuthority::create(&ca_dir)?;
            println!("created {} (SHA-256 {})", ca.cert_path().display(), ca.fingerprint());
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
    Ok(ExitCode::SUCCESS)
}
