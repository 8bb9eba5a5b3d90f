//! What the fuzz targets share: the fixed trusts (certificates in
//! `fixtures/`, made once by `examples/gen_seeds.rs`), the clock they are
//! valid at, and the small input formats (see each target's header).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// PCA: the provider's root and intermediate (rcgen, P-256); the leaf in
/// the seed corpus chains to them and is valid at [`PCA_NOW`].
pub const PCA_ROOT: &str = include_str!("../fixtures/pca_root.pem");
pub const PCA_INTERMEDIATE: &str = include_str!("../fixtures/pca_intermediate.pem");
pub const PCA_NOW: i64 = 1_790_000_000;

/// PKCS#7: the verification certificates of an AWS (DSA 1024/160,
/// SHA-1) and an Alibaba (RSA 2048, SHA-256) test cloud, made by `openssl`.
pub const PKCS7_AWS_CERT: &str = include_str!("../fixtures/pkcs7_aws_cert.pem");
pub const PKCS7_AWS_ACCOUNT: &str = "123456789012";
pub const PKCS7_ALIBABA_CERT: &str = include_str!("../fixtures/pkcs7_alibaba_cert.pem");
pub const PKCS7_ALIBABA_ACCOUNT: &str = "1234";
/// The Alibaba documents' audience: this Writ instance.
pub const WRIT_INSTANCE_ID: &str = "idaas_fuzz";

/// When the seed documents were signed (openssl stamps the real clock):
/// the seeds pass every check at this time.
pub fn pkcs7_now() -> i64 {
    include_str!("../fixtures/pkcs7_now.txt")
        .trim()
        .parse()
        .unwrap_or(0)
}

/// The stack of a tokio worker thread (the default, which Writ keeps):
/// where the token endpoint and the admin API run core's code.
pub const WORKER_STACK: usize = 2 * 1024 * 1024;

/// Runs `f` on a thread with [`WORKER_STACK`], so that a recursion deep
/// enough to overflow Writ's real threads overflows here too (libFuzzer's
/// own thread has the process's 8 MiB).
pub fn on_worker_stack<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| {
        let h = std::thread::Builder::new()
            .stack_size(WORKER_STACK)
            .spawn_scoped(s, f)
            .unwrap_or_else(|e| panic!("spawn: {e}"));
        match h.join() {
            Ok(r) => r,
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

/// The bytes before the first `sep` and, if there is one, those after it.
pub fn split_at_byte(data: &[u8], sep: u8) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|&b| b == sep) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    }
}

/// A certificate as PEM (what `client_x509` carries).
pub fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut s = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        s.push('\n');
    }
    s.push_str("-----END CERTIFICATE-----\n");
    s
}

/// Splits concatenated DER values by their outer tag-length headers (at
/// most `max`); a header that does not parse takes the rest as one item.
pub fn der_items(mut data: &[u8], max: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !data.is_empty() && out.len() < max {
        let len = der_len(data)
            .filter(|&n| n <= data.len())
            .unwrap_or(data.len());
        out.push(&data[..len]);
        data = &data[len..];
    }
    out
}

/// Total length (header included) of the DER value at the start of `d`.
fn der_len(d: &[u8]) -> Option<usize> {
    let first = *d.get(1)?;
    if first < 0x80 {
        return Some(2 + first as usize);
    }
    let n = (first & 0x7f) as usize;
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for &b in d.get(2..2 + n)? {
        len = (len << 8) | b as usize;
    }
    Some(2 + n + len)
}
