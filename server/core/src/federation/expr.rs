//! Verification expressions, trust conditions and attribute mappings.
//!
//! The language is CEL (the `cel` crate: a maintained, spec-following
//! interpreter; writing and hardening our own parser would cost more than
//! the small front end here). Two things sit in front of it:
//!
//! * **Quoted keys.** Claims like `kubernetes.io` or fields like
//!   `instance-id` are not CEL identifiers. Users write
//!   `jwt.claims.'kubernetes.io'.namespace`; a `.` directly followed by a
//!   string literal is a syntax error in CEL, so translating it to the index
//!   form `jwt.claims['kubernetes.io'].namespace` is unambiguous.
//! * **Bounded cost.** At most [`MAX_LEN`] characters, nesting depth at most
//!   [`MAX_DEPTH`], no comprehension (`all`, `exists`, `map`, …) inside
//!   another, and regular expressions from the linear-time `regex` crate. The
//!   work is then linear in the expression times the size of the input token.
//!
//! Checking on save: syntax (with line and column), the roots a credential
//! type may use (`client`, and `jwt` / `cert` / `pkcs7`), the functions on an
//! allow-list, and the result type against a sample input.

use serde_json::{Value, json};
use std::fmt;

pub const MAX_LEN: usize = 10_240;
pub const MAX_DEPTH: usize = 32;
const MAX_COMPREHENSIONS: usize = 16;
const COMPREHENSIONS: &[&str] = &["all", "exists", "exists_one", "map", "filter"];
const FUNCTIONS: &[&str] = &[
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "string",
    "int",
    "uint",
    "double",
    "bool",
    "has",
    "@in",
    "lowerAscii",
    "upperAscii",
    "trim",
    "split",
];

/// What a federated credential's expressions may refer to: the roots of
/// its provider kind. The same type as [`writ_types::ProviderKind`].
pub use writ_types::ProviderKind as Domain;

fn roots(domain: Domain) -> &'static [&'static str] {
    match domain {
        Domain::Oidc => &["client", "jwt"],
        Domain::Pca => &["client", "cert", "jwt"],
        Domain::Pkcs7 => &["client", "pkcs7"],
    }
}

/// What an expression must produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Produces {
    /// Verifications and trust conditions.
    Bool,
    /// Attribute mappings (`activeSubjectUrn`).
    String,
}

/// An error with the position the admin should look at (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

fn at(src: &str, offset: usize, message: impl Into<String>) -> ExprError {
    // Offsets come from CEL through a translation: never trust them to fall
    // on a character boundary (slicing inside one would panic).
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    ExprError {
        line,
        column,
        message: message.into(),
    }
}

/// A compiled expression, ready to evaluate many times.
pub struct Expression {
    source: String,
    program: cel::Program,
    produces: Produces,
}

impl fmt::Debug for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expression")
            .field("source", &self.source)
            .finish()
    }
}

/// The translated source plus, per translated byte offset, how many bytes
/// translation inserted before it (to map CEL's error positions back).
struct Translated {
    text: String,
    /// (offset in translated text, bytes inserted up to there)
    shifts: Vec<(usize, usize)>,
    /// Variables bound by comprehensions (`list.all(x, …)` binds `x`).
    locals: Vec<String>,
}

impl Translated {
    fn original_offset(&self, translated: usize) -> usize {
        let inserted = self
            .shifts
            .iter()
            .take_while(|(o, _)| *o <= translated)
            .last()
            .map_or(0, |(_, n)| *n);
        translated.saturating_sub(inserted)
    }
}

/// Scans the source once: translates quoted keys and enforces the structural
/// bounds (depth, comprehension nesting) before CEL sees it. Long on
/// purpose: one pass of a small lexer (strings, escapes, brackets, quoted
/// keys) keeps every byte's state in one place; split, the states would be
/// threaded through helpers.
fn translate(src: &str) -> Result<Translated, ExprError> {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len() + 16);
    let mut shifts = Vec::new();
    let mut inserted = 0usize;
    let mut depth = 0usize;
    // Paren depth at which each open comprehension's arguments end.
    let mut open_comprehensions: Vec<usize> = Vec::new();
    let mut comprehensions = 0usize;
    let mut locals = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' => {
                let end = string_end(b, i).ok_or_else(|| at(src, i, "unterminated string"))?;
                out.push_str(&src[i..end]);
                i = end;
                continue;
            }
            b'.' if matches!(b.get(i + 1), Some(b'\'' | b'"')) => {
                // `.'key'` → `['key']`
                let end =
                    string_end(b, i + 1).ok_or_else(|| at(src, i + 1, "unterminated string"))?;
                out.push('[');
                out.push_str(&src[i + 1..end]);
                out.push(']');
                inserted += 1;
                shifts.push((out.len(), inserted));
                i = end;
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(at(
                        src,
                        i,
                        format!("nested more than {MAX_DEPTH} levels deep"),
                    ));
                }
                if c == b'(' {
                    let name = ident_before(src, i);
                    let is_method =
                        name.is_some_and(|(start, _)| start > 0 && b[start - 1] == b'.');
                    if let Some((_, name)) = name.filter(|_| is_method)
                        && COMPREHENSIONS.contains(&name)
                    {
                        if !open_comprehensions.is_empty() {
                            return Err(at(
                                src,
                                i,
                                format!(
                                    "'{name}' inside another comprehension is not allowed (it would make the cost grow with the square of the input)"
                                ),
                            ));
                        }
                        comprehensions += 1;
                        if comprehensions > MAX_COMPREHENSIONS {
                            return Err(at(
                                src,
                                i,
                                format!("more than {MAX_COMPREHENSIONS} comprehensions"),
                            ));
                        }
                        open_comprehensions.push(depth);
                        let rest = &src[i + 1..];
                        let var: String = rest
                            .trim_start()
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        if !var.is_empty() {
                            locals.push(var);
                        }
                    }
                }
            }
            b')' | b']' | b'}' => {
                if open_comprehensions.last() == Some(&depth) && c == b')' {
                    open_comprehensions.pop();
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        // Copy one UTF-8 character.
        let len = utf8_len(c);
        out.push_str(&src[i..(i + len).min(src.len())]);
        i += len;
    }
    Ok(Translated {
        text: out,
        shifts,
        locals,
    })
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// End (exclusive) of the string literal starting at `start` (a quote).
fn string_end(b: &[u8], start: usize) -> Option<usize> {
    let q = b[start];
    let triple = b.get(start + 1) == Some(&q) && b.get(start + 2) == Some(&q);
    let mut i = start + if triple { 3 } else { 1 };
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q && (!triple || (b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q))) {
            return Some(i + if triple { 3 } else { 1 });
        }
        if !triple && b[i] == b'\n' {
            return None;
        }
        i += 1;
    }
    None
}

fn ident_before(src: &str, paren: usize) -> Option<(usize, &str)> {
    let b = src.as_bytes();
    let mut s = paren;
    while s > 0 && (b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'_') {
        s -= 1;
    }
    (s < paren).then(|| (s, &src[s..paren]))
}

impl Expression {
    /// Parses and checks an expression for a credential type. Long because it
    /// runs every admission rule in order (length, structure, parse, allowed
    /// roots and functions, result type against a sample) and each names its
    /// own error for the admin.
    pub fn compile(src: &str, domain: Domain, produces: Produces) -> Result<Self, ExprError> {
        if src.trim().is_empty() {
            return Err(at(src, 0, "the expression is empty"));
        }
        if src.chars().count() > MAX_LEN {
            return Err(at(
                src,
                0,
                format!("the expression is longer than {MAX_LEN} characters"),
            ));
        }
        let t = translate(src)?;
        let program = cel::Program::compile(&t.text).map_err(|errs| {
            let e = errs.errors.first();
            let (line, col) = e.map_or((1, 0), |e| {
                (e.pos.0.max(1) as usize, e.pos.1.max(0) as usize)
            });
            // CEL reports (line, column), the column in characters; turn it
            // into a byte offset of the translated text, then map it back to
            // what the admin wrote.
            let line_start: usize = t
                .text
                .split_inclusive('\n')
                .take(line - 1)
                .map(str::len)
                .sum();
            let line_text = t.text[line_start..].split('\n').next().unwrap_or_default();
            let col_bytes = line_text
                .char_indices()
                .nth(col)
                .map_or(line_text.len(), |(b, _)| b);
            let offset = line_start + col_bytes;
            let msg = e.map_or_else(|| "syntax error".to_owned(), |e| e.msg.clone());
            at(
                src,
                t.original_offset(offset),
                format!("syntax error: {msg}"),
            )
        })?;
        let refs = program.references();
        for var in refs.variables() {
            if !roots(domain).contains(&var) && !t.locals.iter().any(|l| l == var) {
                let offset = find_word(src, var).unwrap_or(0);
                return Err(at(
                    src,
                    offset,
                    format!(
                        "unknown field '{var}': this credential type offers {}",
                        roots(domain)
                            .iter()
                            .map(|r| format!("{r}."))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        for f in refs.functions() {
            // Operators appear as `_&&_`, `!_`, `@in`…: only named functions are checked.
            let named =
                f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !f.starts_with('_');
            if named && !FUNCTIONS.contains(&f) {
                let offset = find_word(src, f).unwrap_or(0);
                return Err(at(src, offset, format!("unknown function '{f}'")));
            }
        }
        let e = Self {
            source: src.to_owned(),
            program,
            produces,
        };
        // Type check against a sample input: a result of the wrong type is
        // an error now rather than a refused token later. Missing keys are
        // fine here (the sample cannot know every claim).
        if let Ok(v) = e.program.execute(&context(&sample(domain))) {
            let ok = matches!(
                (produces, &v),
                (Produces::Bool, cel::Value::Bool(_)) | (Produces::String, cel::Value::String(_))
            );
            if !ok {
                return Err(at(
                    src,
                    0,
                    match produces {
                        Produces::Bool => "the expression must produce true or false",
                        Produces::String => "the mapping must produce a string",
                    },
                ));
            }
        }
        Ok(e)
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates a verification or trust condition: true only if the
    /// expression produced `true` (errors and other values are refusals).
    pub fn check(&self, input: &Input) -> Result<bool, String> {
        match self.program.execute(&context(&input.0)) {
            Ok(cel::Value::Bool(b)) => Ok(b),
            Ok(_) => Err("the expression did not produce true or false".into()),
            Err(e) => Err(short_error(&e)),
        }
    }

    /// Evaluates an attribute mapping to a subject string.
    pub fn map_subject(&self, input: &Input) -> Result<String, String> {
        debug_assert_eq!(self.produces, Produces::String);
        match self.program.execute(&context(&input.0)) {
            Ok(cel::Value::String(s)) if !s.is_empty() && s.len() <= 256 => Ok(s.to_string()),
            Ok(cel::Value::String(_)) => {
                Err("the mapping produced an empty or over-long subject (1-256 characters)".into())
            }
            Ok(_) => Err("the mapping did not produce a string".into()),
            Err(e) => Err(short_error(&e)),
        }
    }
}

fn short_error(e: &cel::ExecutionError) -> String {
    let s = e.to_string();
    s.chars().take(200).collect()
}

fn find_word(src: &str, word: &str) -> Option<usize> {
    src.match_indices(word).map(|(i, _)| i).find(|&i| {
        let b = src.as_bytes();
        (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'.'))
            && b.get(i + word.len())
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
    })
}

/// The values an expression sees: `{client: …, jwt: …, cert: …, pkcs7: …}`.
#[derive(Debug, Clone, Default)]
pub struct Input(Value);

impl Input {
    pub fn new(client_id: &str, credential_id: &str) -> Self {
        Self(json!({
            "client": {"clientId": client_id, "applicationFederatedCredentialId": credential_id}
        }))
    }
    pub fn with(mut self, root: &str, value: Value) -> Self {
        if let Value::Object(m) = &mut self.0 {
            m.insert(root.to_owned(), value);
        }
        self
    }
    pub fn as_json(&self) -> &Value {
        &self.0
    }
    pub fn into_json(self) -> Value {
        self.0
    }
}

fn context(input: &Value) -> cel::Context<'static, 'static> {
    let mut ctx = cel::Context::default();
    if let Value::Object(m) = input {
        for (k, v) in m {
            // serde_json values always convert; a failure would only mean an
            // unknown root, which the compile step has ruled out.
            let _ = ctx.add_variable(k.clone(), v.clone());
        }
    }
    ctx
}

fn sample(domain: Domain) -> Value {
    let mut m = serde_json::Map::new();
    m.insert(
        "client".into(),
        json!({"clientId": "app_sample", "applicationFederatedCredentialId": "fc_sample"}),
    );
    match domain {
        Domain::Oidc => {
            m.insert(
                "jwt".into(),
                json!({"header": {"alg": "RS256", "kid": "k"}, "claims": {
                    "iss": "https://issuer.example", "sub": "system:serviceaccount:ns:sa",
                    "aud": ["aud"], "exp": 0, "iat": 0}}),
            );
        }
        Domain::Pca => {
            m.insert("cert".into(), sample_cert());
            m.insert(
                "jwt".into(),
                json!({"header": {"alg": "ES256"}, "claims": {"iss": "app_sample", "sub": "app_sample", "aud": "x", "jti": "j", "exp": 0, "iat": 0}}),
            );
        }
        Domain::Pkcs7 => {
            m.insert(
                "pkcs7".into(),
                json!({"payload": {"jsonData": {"instanceId": "i-0", "accountId": "0", "region": "r",
                    "instance-id": "i-0", "owner-account-id": "0", "region-id": "r"}},
                    "signingTime": 0, "cert": sample_cert()}),
            );
        }
    }
    Value::Object(m)
}

fn sample_cert() -> Value {
    json!({"subject": {"CN": "cn"}, "issuer": {"CN": "ca"}, "serialNumber": "01",
        "san": {"dns": [], "uri": [], "email": []}, "notBefore": 0, "notAfter": 0, "fingerprint": "00"})
}

/// An expression just under [`MAX_LEN`]: many alternatives ORed together,
/// the last one matching `system:serviceaccount:payments:billing`. Tests and
/// the benchmark use it.
pub fn max_length_example() -> String {
    let mut e = String::new();
    let mut i = 0;
    loop {
        let part = format!("jwt.claims.sub == 'system:serviceaccount:ns{i}:sa' || ");
        if e.len() + part.len() + 64 > MAX_LEN {
            break;
        }
        e.push_str(&part);
        i += 1;
    }
    e.push_str("jwt.claims.sub == 'system:serviceaccount:payments:billing'");
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oidc(src: &str) -> Result<Expression, ExprError> {
        Expression::compile(src, Domain::Oidc, Produces::Bool)
    }

    fn k8s_input() -> Input {
        Input::new("app_1", "fc_1").with(
            "jwt",
            json!({"header": {"alg": "RS256"}, "claims": {
                "sub": "system:serviceaccount:payments:billing",
                "aud": ["writ"],
                "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "billing"}},
            }}),
        )
    }

    #[test]
    fn quoted_keys_reach_claims_with_dots() {
        let e = oidc("jwt.claims.'kubernetes.io'.namespace == 'payments' && jwt.claims.\"kubernetes.io\".serviceaccount.name.startsWith('bill')").unwrap();
        assert_eq!(e.check(&k8s_input()), Ok(true));
        let e = oidc("jwt.claims.'kubernetes.io'.namespace == 'other'").unwrap();
        assert_eq!(e.check(&k8s_input()), Ok(false));
        // A quote inside a string literal is not a key.
        let e = oidc("jwt.claims.sub != 'a.\\'b'").unwrap();
        assert_eq!(e.check(&k8s_input()), Ok(true));
    }

    #[test]
    fn missing_claims_refuse_rather_than_pass() {
        let e = oidc("jwt.claims.repository == 'acme/app'").unwrap();
        assert!(e.check(&k8s_input()).is_err());
        let e = oidc("has(jwt.claims.repository) && jwt.claims.repository == 'a'").unwrap();
        assert_eq!(e.check(&k8s_input()), Ok(false));
    }

    #[test]
    fn non_ascii_text_never_panics_and_positions_count_characters() {
        // CEL counts columns in characters; slicing bytes there panicked.
        let e = Expression::compile("'éééé' )", Domain::Oidc, Produces::Bool).unwrap_err();
        let ascii = Expression::compile("'eeee' )", Domain::Oidc, Produces::Bool).unwrap_err();
        assert_eq!((e.line, e.column), (ascii.line, ascii.column), "{e}");
        let pieces = [
            "'é'",
            "é",
            "日本",
            "🦀",
            ")",
            "(",
            "'",
            "\"",
            ".",
            "'ü'.",
            "jwt.claims.sub",
            "==",
            " ",
            "\n",
            "[",
            "]",
            "{",
            "}",
            "+",
            "x",
            ".exists(",
            "size(",
            "\\",
            "`",
        ];
        // Every ordered triple of pieces: compile answers, it never panics.
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let src = format!("{a}{b}{c}");
                    let _ = Expression::compile(&src, Domain::Oidc, Produces::Bool);
                    let _ = Expression::compile(&src, Domain::Pca, Produces::String);
                }
            }
        }
    }

    #[test]
    fn errors_have_positions_in_the_admins_text() {
        let e = oidc("jwt.claims.'a.b' ==\n  'x' &&& true").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = oidc("cert.subject.CN == 'x'").unwrap_err();
        assert!(e.message.contains("unknown field 'cert'"), "{e}");
        assert_eq!((e.line, e.column), (1, 1));
        let e = oidc("jwt.claims.sub == 'x' && evil(1)").unwrap_err();
        assert!(e.message.contains("unknown function"), "{e}");
        let e = oidc("'just a string'").unwrap_err();
        assert!(e.message.contains("true or false"), "{e}");
        assert!(oidc("jwt.claims.sub == 'unterminated").is_err());
        assert!(oidc("  ").is_err());
    }

    #[test]
    fn cost_is_bounded() {
        let deep = format!("{}true{}", "(".repeat(40), ")".repeat(40));
        assert!(oidc(&deep).unwrap_err().message.contains("nested"));
        let nested = "jwt.claims.aud.all(a, jwt.claims.aud.exists(b, a == b))";
        assert!(oidc(nested).unwrap_err().message.contains("inside another"));
        let flat = "jwt.claims.aud.all(a, a != '') && jwt.claims.aud.exists(b, b == 'writ')";
        assert_eq!(oidc(flat).unwrap().check(&k8s_input()), Ok(true));
        assert!(oidc(&"x".repeat(MAX_LEN + 1)).is_err());
    }

    #[test]
    fn a_maximal_expression_compiles_and_runs() {
        let e = max_length_example();
        assert!(e.len() <= MAX_LEN && e.len() > MAX_LEN - 64);
        let compiled = oidc(&e).unwrap();
        assert_eq!(compiled.check(&k8s_input()), Ok(true));
    }

    #[test]
    fn attribute_mapping_produces_a_subject() {
        let m = Expression::compile(
            "jwt.claims.'kubernetes.io'.namespace + '/' + jwt.claims.'kubernetes.io'.serviceaccount.name",
            Domain::Oidc,
            Produces::String,
        )
        .unwrap();
        assert_eq!(m.map_subject(&k8s_input()).unwrap(), "payments/billing");
        assert!(
            Expression::compile("jwt.claims.sub == 'x'", Domain::Oidc, Produces::String).is_err()
        );
    }

    #[test]
    fn pkcs7_and_pca_roots() {
        let e = Expression::compile(
            "pkcs7.payload.jsonData.'instance-id' == 'i-1' && client.clientId == 'app_1'",
            Domain::Pkcs7,
            Produces::Bool,
        )
        .unwrap();
        let input = Input::new("app_1", "fc").with(
            "pkcs7",
            json!({"payload": {"jsonData": {"instance-id": "i-1"}}}),
        );
        assert_eq!(e.check(&input), Ok(true));
        assert!(
            Expression::compile("jwt.claims.sub == 'x'", Domain::Pkcs7, Produces::Bool).is_err()
        );
        assert!(
            Expression::compile(
                "cert.san.dns.exists(d, d.endsWith('.corp'))",
                Domain::Pca,
                Produces::Bool
            )
            .is_ok()
        );
    }
}
