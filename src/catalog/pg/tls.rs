//! TLS to PostgreSQL with libpq's `sslmode` meaning, on rustls (the TLS stack lrt already has
//! for its model clients; no OpenSSL to link). `require` (and `prefer`/`allow` when they end up
//! on TLS) encrypt without checking the certificate; `verify-ca` checks the chain against the
//! root certificate but not the host name; `verify-full` checks both. A CRL, when given, is
//! checked for the server's certificate; a client certificate is sent when the server asks.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::{PgTls, RootCerts, SslMode};
use crate::error::{Error, Result};

/// The TLS connector for `tls`; files are read here, so a missing or bad one is an error now.
pub(super) fn connector(tls: &PgTls) -> Result<MakeRustlsConnect> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = if tls.mode.verifies() {
        let roots = match &tls.root_cert {
            Some(roots) => root_store(roots)?,
            None => return Err(Error::Usage("TLS verification needs POSTGRES_SSL_ROOT_CERT".into())),
        };
        let mut builder = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone());
        if let Some(crl) = &tls.crl {
            builder = builder.with_crls(crls(crl)?).only_check_end_entity_revocation();
        }
        let webpki = builder
            .build()
            .map_err(|e| Error::Usage(format!("cannot use the PostgreSQL CA certificate: {e}")))?;
        match tls.mode {
            SslMode::VerifyFull => webpki,
            _ => Arc::new(ChainOnly(webpki)),
        }
    } else {
        Arc::new(Unverified(provider.signature_verification_algorithms))
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS protocol versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match &tls.client_cert {
        Some((cert, key)) => {
            let chain = read_pem_all::<CertificateDer<'static>>(cert, "POSTGRES_SSL_CERT")?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| file_error("POSTGRES_SSL_KEY", key, e))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| Error::Usage(format!("POSTGRES_SSL_CERT/POSTGRES_SSL_KEY: {e}")))?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

fn file_error(var: &str, path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Usage(format!("{var}: cannot read {}: {e}", path.display()))
}

fn read_pem_all<T: PemObject>(path: &Path, var: &str) -> Result<Vec<T>> {
    let items = T::pem_file_iter(path)
        .and_then(|items| items.collect::<Result<Vec<T>, _>>())
        .map_err(|e| file_error(var, path, e))?;
    if items.is_empty() {
        return Err(file_error(var, path, "no PEM item of the expected kind in it"));
    }
    Ok(items)
}

fn root_store(roots: &RootCerts) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match roots {
        RootCerts::File(path) => {
            for cert in read_pem_all::<CertificateDer<'static>>(path, "POSTGRES_SSL_ROOT_CERT")? {
                store
                    .add(cert)
                    .map_err(|e| file_error("POSTGRES_SSL_ROOT_CERT", path, e))?;
            }
        }
        RootCerts::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(Error::Usage(
                    "POSTGRES_SSL_ROOT_CERT=system: no CA certificate found in the system's store".into(),
                ));
            }
        }
    }
    Ok(store)
}

fn crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>> {
    read_pem_all(path, "POSTGRES_SSL_CRL")
}

/// `verify-ca`: the chain must lead to the root certificate; the host name is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain (and revocation) first, the name last: a name mismatch
        // means everything else held.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `require`/`prefer`/`allow`: encryption without authentication of the server, as libpq
/// does without a root certificate. The handshake's signatures are still checked (the
/// session key belongs to whoever holds the presented certificate's key).
#[derive(Debug)]
struct Unverified(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// Words for a TLS failure in the chain of `e`, naming the setting to look at.
pub(super) fn explain(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = Some(e);
    while let Some(err) = cause {
        let tls = err.downcast_ref::<rustls::Error>().or_else(|| {
            err.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(tls) = tls {
            return Some(match tls {
                rustls::Error::InvalidCertificate(CertificateError::NotValidForName)
                | rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. }) => format!(
                    "TLS: the server's certificate does not name the host connected to \
                     (POSTGRES_SSL_MODE=verify-full checks it; connect by a name the certificate lists): {tls}"
                ),
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
                | rustls::Error::InvalidCertificate(CertificateError::BadSignature) => {
                    format!("TLS: the server's certificate is not signed by a CA in POSTGRES_SSL_ROOT_CERT: {tls}")
                }
                other => format!("TLS: {other}"),
            });
        }
        cause = err.source();
    }
    None
}

/// Whether the chain of `e` holds a TLS error (a configuration problem, not an outage).
pub(super) fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    explain(e).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_are_usage_errors_naming_the_variable() {
        let tls = PgTls {
            mode: SslMode::VerifyFull,
            root_cert: Some(RootCerts::File("/nonexistent/ca.pem".into())),
            client_cert: None,
            crl: None,
        };
        let err = connector(&tls).err().expect("a missing CA file is refused");
        assert!(
            matches!(err, Error::Usage(_)) && err.to_string().contains("POSTGRES_SSL_ROOT_CERT"),
            "{err}"
        );
        assert!(connector(&PgTls::prefer()).is_ok());
    }

    #[test]
    fn tls_errors_are_explained_and_told_apart() {
        let name = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::NotValidForName),
        );
        assert!(explain(&name).unwrap().contains("does not name the host"));
        let issuer = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert!(explain(&issuer).unwrap().contains("POSTGRES_SSL_ROOT_CERT"));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(!is_tls(&refused));
    }
}
