//! A test "cloud" that signs instance identity documents the way EC2
//! (DSA-SHA1) and ECS (RSA-SHA256) do: CMS SignedData with the JSON inside,
//! made by the `openssl` command line (a real, independent implementation).

use base64::Engine;
use std::path::PathBuf;
use std::process::Command;

#[derive(Debug, Clone, Copy)]
pub enum KeyKind {
    /// DSA 1024/160, as AWS's `/pkcs7` signature.
    Dsa,
    /// RSA 2048, as `/rsa2048` and Alibaba.
    Rsa,
}

/// How [`CloudSigner::sign_der_with`] signs (default: as the cloud does).
#[derive(Debug, Default, Clone, Copy)]
pub struct SignOptions<'a> {
    /// `-noattr`: no signed attributes (no `messageDigest` to bind the content).
    pub without_attributes: bool,
    /// Another digest than the cloud's (`sha1` for DSA, `sha256` for RSA).
    pub digest: Option<&'a str>,
    /// Content outside the SignedData.
    pub detached: bool,
}

pub struct CloudSigner {
    dir: PathBuf,
    kind: KeyKind,
    pub cert_pem: String,
}

/// Runs `openssl` in `dir`; a failure is a broken fixture (panics with its stderr).
pub(crate) fn openssl(dir: &PathBuf, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl CloudSigner {
    pub fn new(kind: KeyKind) -> Self {
        let dir = std::env::temp_dir().join(format!("writ-cloud-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        match kind {
            KeyKind::Dsa => {
                openssl(
                    &dir,
                    &[
                        "genpkey",
                        "-genparam",
                        "-algorithm",
                        "DSA",
                        "-pkeyopt",
                        "dsa_paramgen_bits:1024",
                        "-pkeyopt",
                        "dsa_paramgen_q_bits:160",
                        "-out",
                        "params.pem",
                    ],
                );
                openssl(
                    &dir,
                    &["genpkey", "-paramfile", "params.pem", "-out", "key.pem"],
                );
                openssl(
                    &dir,
                    &[
                        "req",
                        "-new",
                        "-x509",
                        "-key",
                        "key.pem",
                        "-subj",
                        "/C=US/O=Test Cloud/CN=ec2.test",
                        "-days",
                        "3650",
                        "-out",
                        "cert.pem",
                    ],
                );
            }
            KeyKind::Rsa => {
                openssl(
                    &dir,
                    &[
                        "req",
                        "-x509",
                        "-newkey",
                        "rsa:2048",
                        "-nodes",
                        "-keyout",
                        "key.pem",
                        "-subj",
                        "/C=CN/O=Test Cloud/CN=ecs.test",
                        "-days",
                        "3650",
                        "-out",
                        "cert.pem",
                    ],
                );
            }
        }
        let cert_pem = std::fs::read_to_string(dir.join("cert.pem")).expect("cert");
        Self {
            dir,
            kind,
            cert_pem,
        }
    }

    fn sign_der(&self, document: &str) -> Vec<u8> {
        self.sign_der_with(document.as_bytes(), SignOptions::default())
    }

    /// The raw CMS DER of `content`, signed with the options given (the
    /// hostile corpus makes documents without signed attributes, with
    /// another digest, or with detached content).
    pub fn sign_der_with(&self, content: &[u8], o: SignOptions<'_>) -> Vec<u8> {
        let name = format!("doc-{}", uuid::Uuid::new_v4());
        std::fs::write(self.dir.join(&name), content).expect("write doc");
        let md = o.digest.unwrap_or(match self.kind {
            KeyKind::Dsa => "sha1",
            KeyKind::Rsa => "sha256",
        });
        let out = format!("{name}.der");
        let mut args = vec![
            "cms", "-sign", "-binary", "-md", md, "-outform", "DER", "-signer", "cert.pem",
            "-inkey", "key.pem", "-in", &name, "-out", &out,
        ];
        if !o.detached {
            args.push("-nodetach");
        }
        if o.without_attributes {
            args.push("-noattr");
        }
        openssl(&self.dir, &args);
        let der = std::fs::read(self.dir.join(&out)).expect("read der");
        let _ = std::fs::remove_file(self.dir.join(&name));
        let _ = std::fs::remove_file(self.dir.join(&out));
        der
    }

    /// The document as the metadata service returns it: base64 DER.
    pub fn sign(&self, document: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.sign_der(document))
    }

    /// Signs `signed`, then swaps the content for `swapped` (same length):
    /// a forgery whose signature no longer matches.
    pub fn sign_then_swap_content(&self, signed: &str, swapped: &str) -> String {
        assert_eq!(signed.len(), swapped.len());
        let mut der = self.sign_der(signed);
        let at = der
            .windows(signed.len())
            .position(|w| w == signed.as_bytes())
            .expect("content inside");
        der[at..at + swapped.len()].copy_from_slice(swapped.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(der)
    }
}

impl Drop for CloudSigner {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
