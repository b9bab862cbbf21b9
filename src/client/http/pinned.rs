//! `--cacert` as curl and Python honour it: the certificates in the file are trusted as
//! roots, and a server presenting exactly one of them (a self-signed certificate) is
//! accepted for the names it carries even when it also says `CA:TRUE`. `openssl req -x509`
//! marks certificates that way by default, and webpki alone refuses a CA certificate as
//! the server's own (`CaUsedAsEndEntity`) where OpenSSL takes a trust anchor presented
//! by the server as it is. Everything else goes through rustls' own WebPKI verifier over
//! the system's roots and the file's. Depends on rustls only.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

/// WebPKI verification over `roots`, and the `pinned` certificates accepted as they are
/// for the names they carry.
#[derive(Debug)]
pub struct Verifier {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let chain =
            self.webpki
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        match chain {
            Ok(v) => Ok(v),
            // The server's own certificate is one the user gave: a trust anchor, checked
            // for the name we connected to (as OpenSSL does for a self-signed one).
            Err(e)
                if self
                    .pinned
                    .iter()
                    .any(|p| p.as_ref() == end_entity.as_ref()) =>
            {
                let parsed = ParsedCertificate::try_from(end_entity)?;
                rustls::client::verify_server_name(&parsed, server_name).map_err(|_| e)?;
                Ok(ServerCertVerified::assertion())
            }
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// A client configuration trusting the system's roots and `extra` (the `--cacert` file's
/// certificates, DER), with `extra` also pinned as above. HTTP/1.1 only, as every client
/// of a load run.
pub fn client_config(extra: &[CertificateDer<'static>]) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    // Unreadable system certificates leave the file's: what the user asked to trust.
    for c in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(c);
    }
    for c in extra {
        // A certificate webpki cannot take as a root still counts as pinned.
        let _ = roots.add(c.clone());
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("the trusted certificates cannot verify anything: {e}"))?;
    let verifier = Arc::new(Verifier {
        webpki,
        pinned: extra.to_vec(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
