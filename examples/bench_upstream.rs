//! The origin server of the load bench (`benches/load/run.sh`): the test upstream
//! over TLS for `localhost`, `127.0.0.1` and the AWS hosts of the bench's AWS
//! path (S3 and STS in us-east-1, the upstream answering STS's AssumeRole),
//! with a fresh test CA.
//!
//! Usage: `bench_upstream --ca-out PATH [--port P]`. Writes the CA certificate PEM
//! to PATH, prints `listening on 127.0.0.1:PORT` and serves until killed.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a bench helper: failing setup should abort loudly"
)]

#[path = "../tests/support/test_ca.rs"]
#[allow(dead_code, reason = "shared with the tests, which use more of it")]
mod test_ca;
#[path = "../tests/support/upstream.rs"]
#[allow(dead_code, reason = "shared with the tests, which use more of it")]
// `upstream` reaches its sibling as `super::test_ca`, which is the crate root here.
mod upstream;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Command-line arguments.
struct Args {
    /// Where to write the test CA certificate PEM.
    ca_out: PathBuf,
    /// Port to listen on (0: any free one).
    port: u16,
}

/// The names the upstream's certificate is for.
const NAMES: [&str; 5] = [
    "localhost",
    "127.0.0.1",
    "s3.us-east-1.amazonaws.com",
    "sts.us-east-1.amazonaws.com",
    "sts.amazonaws.com",
];

const USAGE: &str = "usage: bench_upstream --ca-out PATH [--port P]";

fn parse_args() -> Result<Args, String> {
    let mut ca_out = None;
    let mut port = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ca-out" => ca_out = Some(PathBuf::from(args.next().ok_or("--ca-out needs a path")?)),
            "--port" => {
                let value = args.next().ok_or("--port needs a number")?;
                port = value.parse().map_err(|_| format!("bad port `{value}`"))?;
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let ca_out = ca_out.ok_or_else(|| format!("--ca-out is required\n{USAGE}"))?;
    Ok(Args { ca_out, port })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let ca = test_ca::TestCa::new();
    ca.write_pem(&args.ca_out);
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let upstream = upstream::Upstream::start_tls_at(addr, &ca, &NAMES).await;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on {}", upstream.addr);
    let _ = stdout.flush();
    drop(stdout);
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
