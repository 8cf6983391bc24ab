//! From a `postgres://` URL to a pool of connections: every one with `TCP_NODELAY` (tokio-postgres
//! sets it on TCP; a Unix socket has no Nagle to turn off), TLS as libpq's `sslmode` says.
//!
//! `sslmode` means what it means to libpq, as it did when the store went through sqlx:
//! `disable` never encrypts; `prefer` (the default) encrypts when the server offers it and
//! `require` insists, neither checking the certificate; `verify-ca` and `verify-full` check it
//! against the Mozilla roots or the file `sslrootcert` names. (Both verify modes check the host
//! name too: rustls does not trust a certificate for another host, so `verify-ca` is as strict
//! as `verify-full` here.)

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::machinery::store::StoreError;

/// What a pool's connections are for, and so how their sessions are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// Deliveries, the actions a job did, reads: answered once the commit is on disk (the
    /// server's setting, `on` by default).
    Durable,
    /// A job's own bookkeeping (claims, completions, retries, its state changes):
    /// - answered before the WAL is flushed (`synchronous_commit = off`): a crash can lose the
    ///   last ~0.2 s of these commits, never a part of one, and never one that a later durable
    ///   commit follows (the WAL is flushed in order);
    /// - no sequential scans where an index will do (`enable_seqscan = off`). Each statement
    ///   here finds its rows by an index, but its plan is made once per connection and kept;
    ///   made while `jobs` was small (a new database, or a test's), a plan scanning the table
    ///   stayed as it grew, until an autoanalyze: in one `cargo bench --bench intake` run, 932
    ///   claims read 13.7 million rows, and the claim cost PostgreSQL more than the delivery.
    Jobs,
}

/// A pool of at most `size` connections to the database `url` names.
pub(super) fn pool(url: &str, size: usize, role: Role) -> Result<Pool, StoreError> {
    let (config, tls) = parse(url, role)?;
    let manager = Manager::from_config(
        config,
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .build()
        .map_err(|error| StoreError::Config(error.to_string()))
}

/// The connection settings of `url` for a pool of `role`, and the TLS its `sslmode` asks for.
pub(super) fn parse(
    url: &str,
    role: Role,
) -> Result<(tokio_postgres::Config, MakeRustlsConnect), StoreError> {
    let invalid =
        |what: String| StoreError::Config(format!("{}: {what}", super::super::redact(url)));
    // tokio-postgres knows `disable`, `prefer` and `require`: the verify modes and the root
    // certificate are taken out of the URL here and become the TLS configuration.
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut verify = false;
    let mut root_file = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        match pair.split_once('=').unwrap_or((pair, "")) {
            ("sslmode", "verify-ca" | "verify-full") => {
                verify = true;
                kept.push("sslmode=require".to_owned());
            }
            ("sslrootcert", path) => root_file = Some(percent_decode(path)),
            _ => kept.push(pair.to_owned()),
        }
    }
    let rebuilt = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config =
        tokio_postgres::Config::from_str(&rebuilt).map_err(|error| invalid(error.to_string()))?;
    if role == Role::Jobs {
        let options = config.get_options().unwrap_or_default().to_owned();
        config.options(
            format!("{options} -c synchronous_commit=off -c enable_seqscan=off").trim_start(),
        );
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| invalid(error.to_string()))?;
    let tls = if verify {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(path) = root_file {
            let certificates = CertificateDer::pem_file_iter(&path)
                .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
                .map_err(|error| invalid(format!("sslrootcert {path}: {error}")))?;
            roots.add_parsable_certificates(certificates);
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth()
    };
    Ok((config, MakeRustlsConnect::new(tls)))
}

fn percent_decode(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

/// `prefer` and `require`: the connection is encrypted and the handshake's signatures are
/// checked, but not who signed the certificate (libpq's meaning of those modes).
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::config::{Host, SslMode};

    #[test]
    fn a_url_keeps_its_settings_and_libpq_sslmodes_are_understood() {
        let (config, _) = parse(
            "postgres://bot:pw@db.example:6543/gep?sslmode=verify-full&application_name=x",
            Role::Durable,
        )
        .unwrap();
        assert_eq!(config.get_ssl_mode(), SslMode::Require);
        assert_eq!(config.get_hosts(), [Host::Tcp("db.example".into())]);
        assert_eq!(config.get_ports(), [6543]);
        assert_eq!(config.get_user(), Some("bot"));
        assert_eq!(config.get_dbname(), Some("gep"));
        assert_eq!(config.get_application_name(), Some("x"));
        let (config, _) = parse("postgres://db/gep", Role::Durable).unwrap();
        assert_eq!(config.get_ssl_mode(), SslMode::Prefer);
    }

    #[test]
    fn a_unix_socket_is_a_host_that_is_a_folder() {
        let (config, _) = parse(
            "postgres://postgres@%2Fvar%2Frun%2Fpostgresql/test",
            Role::Durable,
        )
        .unwrap();
        assert_eq!(
            config.get_hosts(),
            [Host::Unix("/var/run/postgresql".into())]
        );
    }

    #[test]
    fn a_bad_url_or_root_file_is_refused_without_its_password() {
        let refused = parse(
            "postgres://bot:s3cret@db/gep?sslmode=sometimes",
            Role::Durable,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(refused.contains("sslmode"), "{refused}");
        assert!(!refused.contains("s3cret"), "{refused}");
        let refused = parse(
            "postgres://db/gep?sslmode=verify-full&sslrootcert=%2Fno%2Fsuch.pem",
            Role::Durable,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(refused.contains("/no/such.pem"), "{refused}");
    }

    #[test]
    fn only_the_job_pool_commits_asynchronously_and_shuns_scans_keeping_the_url_options() {
        let url = "postgres://db/gep?options=-c%20search_path%3Dbench";
        let (durable, _) = parse(url, Role::Durable).unwrap();
        assert_eq!(durable.get_options(), Some("-c search_path=bench"));
        let (jobs, _) = parse(url, Role::Jobs).unwrap();
        assert_eq!(
            jobs.get_options(),
            Some("-c search_path=bench -c synchronous_commit=off -c enable_seqscan=off")
        );
        let (plain, _) = parse("postgres://db/gep", Role::Jobs).unwrap();
        assert_eq!(
            plain.get_options(),
            Some("-c synchronous_commit=off -c enable_seqscan=off")
        );
    }
}
