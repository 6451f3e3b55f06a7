//! The local platform's certificates: one CA that signs the apiserver's serving certificate
//! and every client certificate, plus the service-account signing key.
//!
//! Users authenticate to kube-apiserver by client certificate (CN = user, O = group), so a
//! test can mint a kubeconfig for any user at any time — a city administrator, say — with
//! no apiserver restart, which a static token file would need.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

const CA_NAME: &str = "sanxiang-local-ca";

/// Paths of the PKI files inside the state directory.
pub struct Pki {
    dir: PathBuf,
}

impl Pki {
    pub fn new(state_dir: &Path) -> Self {
        Self {
            dir: state_dir.join("pki"),
        }
    }

    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }
    fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }
    pub fn serving_cert(&self) -> PathBuf {
        self.dir.join("apiserver.crt")
    }
    pub fn serving_key(&self) -> PathBuf {
        self.dir.join("apiserver.key")
    }
    pub fn service_account_key(&self) -> PathBuf {
        self.dir.join("sa.key")
    }
    pub fn service_account_public_key(&self) -> PathBuf {
        self.dir.join("sa.pub")
    }

    /// Creates the CA, serving certificate and service-account key unless they exist.
    pub fn ensure(&self) -> Result<()> {
        if self.ca_cert().exists() && self.service_account_public_key().exists() {
            return Ok(());
        }
        fs::create_dir_all(&self.dir)?;
        let ca_key = KeyPair::generate()?;
        let ca = ca_params().self_signed(&ca_key)?;
        write_private(&self.ca_key(), &ca_key.serialize_pem())?;
        fs::write(self.ca_cert(), ca.pem())?;

        let mut serving = CertificateParams::new(vec![
            "127.0.0.1".to_string(),
            "localhost".to_string(),
            "10.0.0.1".to_string(),
            "kubernetes".to_string(),
            "kubernetes.default".to_string(),
            "kubernetes.default.svc".to_string(),
            "kubernetes.default.svc.cluster.local".to_string(),
        ])?;
        serving
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let serving_key = KeyPair::generate()?;
        let cert = serving.signed_by(&serving_key, &Issuer::new(ca_params(), ca_key))?;
        fs::write(self.serving_cert(), cert.pem())?;
        write_private(&self.serving_key(), &serving_key.serialize_pem())?;

        let sa_key = KeyPair::generate()?;
        write_private(&self.service_account_key(), &sa_key.serialize_pem())?;
        fs::write(self.service_account_public_key(), sa_key.public_key_pem())?;
        Ok(())
    }

    /// A client certificate and key (PEM) for `user` in `group`, signed by the CA.
    pub fn client_cert(&self, user: &str, group: Option<&str>) -> Result<(String, String)> {
        let ca_key = KeyPair::from_pem(
            &fs::read_to_string(self.ca_key()).context("reading the local CA key")?,
        )?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, user);
        if let Some(group) = group {
            params
                .distinguished_name
                .push(DnType::OrganizationName, group);
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &Issuer::new(ca_params(), ca_key))?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// Writes a kubeconfig for `user` (in `group`) talking to `server`.
    pub fn write_kubeconfig(
        &self,
        path: &Path,
        server: &str,
        user: &str,
        group: Option<&str>,
    ) -> Result<()> {
        let (cert, key) = self.client_cert(user, group)?;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let ca = fs::read_to_string(self.ca_cert())?;
        let config = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "sanxiang-local", "cluster": {
                "server": server,
                "certificate-authority-data": b64(&ca),
            }}],
            "users": [{"name": user, "user": {
                "client-certificate-data": b64(&cert),
                "client-key-data": b64(&key),
            }}],
            "contexts": [{"name": "sanxiang-local", "context": {
                "cluster": "sanxiang-local", "user": user,
            }}],
            "current-context": "sanxiang-local",
        });
        write_private(path, &serde_yaml::to_string(&config)?)
    }
}

/// The CA's parameters; rebuilt identically whenever the CA signs, since rcgen's issuer
/// needs the subject name and key, not the parsed certificate.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    Ok(())
}
