//! The load bench's peer to beat: an intercepting proxy that decides nothing,
//! records nothing and logs nothing, built from hudsucker with its defaults
//! (HTTP/1.1 and HTTP/2 to the agent, a pooled hyper client upstream, Nagle
//! left on as hudsucker leaves it unless `--nodelay`).
//!
//! Usage: `noop-mitm --ca-out PATH --upstream-ca PATH [--nodelay]`. Makes a
//! CA, writes its certificate to `--ca-out`, trusts only `--upstream-ca`
//! upstream, prints `listening on 127.0.0.1:PORT` and serves until killed.

use std::error::Error;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use hudsucker::Proxy;
use hudsucker::certificate_authority::RcgenAuthority;
use hudsucker::rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use hudsucker::rustls::crypto::ring;
use hudsucker::rustls::{ClientConfig, RootCertStore};
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::net::TcpListener;

type Fallible<T> = Result<T, Box<dyn Error>>;

/// Command-line arguments.
struct Args {
    ca_out: PathBuf,
    upstream_ca: PathBuf,
    nodelay: bool,
}

fn parse_args() -> Fallible<Args> {
    const USAGE: &str = "usage: noop-mitm --ca-out PATH --upstream-ca PATH [--nodelay]";
    let (mut ca_out, mut upstream_ca, mut nodelay) = (None, None, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ca-out" => ca_out = args.next().map(PathBuf::from),
            "--upstream-ca" => upstream_ca = args.next().map(PathBuf::from),
            "--nodelay" => nodelay = true,
            other => return Err(format!("unknown argument `{other}`\n{USAGE}").into()),
        }
    }
    match (ca_out, upstream_ca) {
        (Some(ca_out), Some(upstream_ca)) => Ok(Args {
            ca_out,
            upstream_ca,
            nodelay,
        }),
        _ => Err(USAGE.into()),
    }
}

/// A fresh CA: its certificate goes to `out`, the issuer signs the leaves.
fn make_ca(out: &PathBuf) -> Fallible<Issuer<'static, KeyPair>> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "noop-mitm bench CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key)?;
    std::fs::write(out, cert.pem())?;
    Ok(Issuer::new(params, key))
}

/// Roots holding only the certificates in the PEM file at `path`.
fn roots(path: &PathBuf) -> Fallible<RootCertStore> {
    let pem = std::fs::read(path)?;
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert?)?;
    }
    Ok(roots)
}

#[tokio::main]
async fn main() -> Fallible<()> {
    let args = parse_args()?;
    let ca = RcgenAuthority::new(make_ca(&args.ca_out)?, 1_000, ring::default_provider());
    let tls = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots(&args.upstream_ca)?)
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(args.nodelay);
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", listener.local_addr()?)?;
    stdout.flush()?;
    drop(stdout);
    let proxy = Proxy::builder()
        .with_listener(listener)
        .with_ca(ca)
        .with_http_connector(https)
        .build()?;
    proxy.start().await?;
    Ok(())
}
