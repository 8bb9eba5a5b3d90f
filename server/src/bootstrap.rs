//! First start: the data directory, the local CA and TLS certificate, the
//! master key. Each is created once and reused after. (Signing keys live in
//! the database, shared by replicas; an older data directory's
//! `signing-key.pem` is read once, to become a new database's first key.)

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("data directory: {0}")]
pub struct BootstrapError(pub String);

pub struct DataDir {
    /// `signing-key.pem`, in data directories made before keys moved into
    /// the database.
    pub legacy_signing_key_pem: Option<String>,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    /// Present when Writ made its own CA.
    pub ca_path: Option<PathBuf>,
    pub tls_sha1_fingerprint: Option<String>,
    /// What RAM's Get Fingerprint reads: the top certificate served.
    pub ram_fingerprint: Option<writ_core::tls::ChainTop>,
    /// Text of `<data dir>/master.key`.
    pub master_key_file: String,
}

fn write_private(path: &Path, contents: &[u8]) -> Result<(), BootstrapError> {
    let err = |e: std::io::Error| BootstrapError(format!("cannot write {}: {e}", path.display()));
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(err)?;
    f.write_all(contents).map_err(err)
}

fn read(path: &Path) -> Result<String, BootstrapError> {
    fs::read_to_string(path)
        .map_err(|e| BootstrapError(format!("cannot read {}: {e}", path.display())))
}

pub fn prepare(
    dir: &Path,
    tls_files: Option<(PathBuf, PathBuf)>,
    tls_hosts: &[String],
    now: i64,
) -> Result<DataDir, BootstrapError> {
    fs::create_dir_all(dir)
        .map_err(|e| BootstrapError(format!("cannot create {}: {e}", dir.display())))?;

    let key_path = dir.join("signing-key.pem");
    let legacy_signing_key_pem = if key_path.exists() {
        Some(read(&key_path)?)
    } else {
        None
    };

    // Sealing key for the vault; made now so backups taken from day one hold it.
    let master_path = dir.join("master.key");
    if !master_path.exists() {
        let key = writ_core::random::token(32);
        write_private(&master_path, format!("{key}\n").as_bytes())?;
    }

    let (tls_cert, tls_key, ca_path) = match tls_files {
        Some((cert, key)) => (cert, key, None),
        None => {
            let cert = dir.join("tls-cert.pem");
            let key = dir.join("tls-key.pem");
            let ca = dir.join("ca.pem");
            if !cert.exists() || !key.exists() || !ca.exists() {
                let pki = writ_core::tls::create_local_pki(tls_hosts, now)
                    .map_err(|e| BootstrapError(e.to_string()))?;
                for p in [&cert, &key, &ca] {
                    let _ = fs::remove_file(p);
                }
                fs::write(&ca, &pki.ca_cert_pem)
                    .map_err(|e| BootstrapError(format!("cannot write {}: {e}", ca.display())))?;
                // The CA goes in the chain so clients that trust ca.pem verify it.
                let chain = format!("{}{}", pki.server_cert_pem, pki.ca_cert_pem);
                fs::write(&cert, chain)
                    .map_err(|e| BootstrapError(format!("cannot write {}: {e}", cert.display())))?;
                write_private(&key, pki.server_key_pem.as_bytes())?;
            }
            (cert, key, Some(ca))
        }
    };
    let served = read(&tls_cert)?;
    let tls_sha1_fingerprint = writ_core::tls::sha1_fingerprint(&served);
    let ram_fingerprint = writ_core::tls::chain_top(&served);
    let master_key_file = read(&master_path)?;
    Ok(DataDir {
        master_key_file,
        legacy_signing_key_pem,
        tls_cert,
        tls_key,
        ca_path,
        tls_sha1_fingerprint,
        ram_fingerprint,
    })
}
