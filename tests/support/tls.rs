//! A TLS front for the stub server: a self-signed certificate for 127.0.0.1 / localhost
//! made at start (rcgen), rustls on 127.0.0.1, and every decrypted connection relayed to
//! a plain server (the stub) byte for byte.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// A running TLS front; stops when dropped.
pub struct Front {
    pub addr: SocketAddr,
    /// The server's certificate, PEM (what `--cacert` takes).
    pub cert_pem: String,
    task: tokio::task::JoinHandle<()>,
}

impl Front {
    /// Starts a TLS listener on 127.0.0.1 relaying to `backend`. With `ca`, its
    /// certificate also says `CA:TRUE`, as one made the common way (`openssl req -x509
    /// -newkey rsa:2048 -nodes ... -addext subjectAltName=IP:...`).
    pub async fn start_with(backend: SocketAddr, ca: bool) -> std::io::Result<Front> {
        let mut params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .expect("certificate parameters");
        if ca {
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        }
        let key_pair = rcgen::KeyPair::generate().expect("key pair");
        let cert = params
            .self_signed(&key_pair)
            .expect("self-signed certificate");
        let ck = rcgen::CertifiedKey { cert, key_pair };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![ck.cert.der().clone()], key)
            .expect("server certificate");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client refusing the certificate ends the handshake: nothing to relay.
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let Ok(mut plain) = TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = plain.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        Ok(Front {
            addr,
            cert_pem: ck.cert.pem(),
            task,
        })
    }

    /// Base URL (`https://127.0.0.1:PORT/v1`).
    pub fn url(&self) -> String {
        format!("https://{}/v1", self.addr)
    }

    /// Writes the certificate to `path` (PEM).
    pub fn write_cert(&self, path: &Path) {
        std::fs::write(path, &self.cert_pem).unwrap();
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.task.abort();
    }
}
