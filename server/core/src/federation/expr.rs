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
//! * **Bounded cost.** On save (and on every load, which compiles again):
//!   at most [`MAX_LEN`] characters; brackets at most [`MAX_DEPTH`] deep;
//!   operator chains, brackets and conditionals together at most
//!   [`MAX_NESTING`] levels deep, estimated from the text before CEL parses
//!   it (CEL's parser and interpreter recurse once per level: a long chain
//!   like `1 + 1 + … + 1` overflowed the stack and aborted the process); no
//!   comprehension (`all`, `exists`, `map`, …) inside another; `matches()`
//!   only with a literal pattern, compiled once here, of bounded size
//!   ([`MAX_PATTERN_SIZE`], linear-time `regex` crate). On every evaluation
//!   a step budget ([`MAX_STEPS`]) meters what grows with the token: each
//!   comprehension's iterations times its body, and each comparison,
//!   membership test, concatenation or literal of a list, map or string
//!   pays for its size. An evaluation over budget is a refusal.
//!
//! Checking on save: syntax (with line and column), the roots a credential
//! type may use (`client`, and `jwt` / `cert` / `pkcs7`), the functions on an
//! allow-list, and the result type against a sample input.

use cel::common::ast::{CallExpr, EntryExpr, Expr, LiteralValue, operators};
use cel::common::types::{CelBool, CelBytes, CelInt, CelList, CelMap, CelString};
use cel::common::value::{CowVal, Val};
use cel::{ExecutionError, FunctionContext, IdedExpr};
use serde_json::{Value, json};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

pub const MAX_LEN: usize = 10_240;
/// Brackets (`(`, `[`, `{`) inside one another.
pub const MAX_DEPTH: usize = 10;
/// How deep operators, brackets and conditionals may nest, in levels of
/// the estimate [`translate`] makes ([`Nesting`]): each binary or unary
/// operator of a chain counts [`OPERATOR_WEIGHT`], each `.field` or `[`
/// [`MEMBER_WEIGHT`], each `(` [`CALL_WEIGHT`], each `?:`
/// [`CONDITIONAL_WEIGHT`], each bracket's content [`BRACKET_WEIGHT`] more
/// than what it holds, and `a && b && …` / `a || b || …` the log2 of their
/// count (CEL balances them). A level is about what one `+` of a chain
/// costs CEL's parser and interpreter: 1.3 KiB of stack in a debug build,
/// 1.5 KiB in a release one.
///
/// Measured with `stack_probe` (in the tests): the deepest of each shape
/// that compiles and evaluates, without this limit, on a thread of the
/// given stack (CEL itself refuses 96 nested expressions: brackets and
/// conditionals stop there).
///
/// | stack | build | `1 + … + 1` | `x['a']…` | `x.a…` | `x.f()…` | `((…))` | `[[…]]` | `{'a': {…}}` | `int(int(…))` |
/// |---|---|---|---|---|---|---|---|---|---|
/// | 256 KiB | debug | 191 | 188 | 299 | 75 | 25 | 19 | 23 | 22 |
/// | 256 KiB | release | 169 | 167 | 521 | 74 | 33 | 27 | 31 | 30 |
/// | 2 MiB | release | 1,402 | 1,400 | 4,344 | 620 | 95 | 94 | | |
///
/// So a level of each is, in `+`s: `[index]` 1, `.field` 0.3-0.6,
/// `.f()` 2.3-2.6 (weighed 3), brackets 5-10 (weighed 10, plus the `(`
/// or `[`), a conditional about 1 (weighed 2, which also keeps admitted
/// expressions below CEL's own limit of 96: its error path at that depth
/// overflowed a 256 KiB stack). 128 levels fit in 256 KiB in both builds
/// (test `deepest_admitted_expressions_run_on_a_small_stack`); Writ's
/// workers have 2 MiB, room for about 1,400.
pub const MAX_NESTING: usize = 128;
const OPERATOR_WEIGHT: usize = 1;
const MEMBER_WEIGHT: usize = 1;
const CALL_WEIGHT: usize = 2;
const CONDITIONAL_WEIGHT: usize = 2;
const BRACKET_WEIGHT: usize = 10;
const MAX_COMPREHENSIONS: usize = 16;
/// `matches()` calls in one expression; each pattern is compiled when the
/// expression is, to at most [`MAX_PATTERN_SIZE`] bytes.
const MAX_PATTERNS: usize = 8;
/// The `regex` crate's size limit for one compiled pattern (its default is
/// 10 MiB). Compiling a pattern this large takes about 1 ms in a release
/// build, once per save or load (CEL compiled it on every evaluation: about
/// 65 ms for `\w{1000}\p{L}{1000}`, refused now); matching one against
/// 10 KB takes 20-40 µs. Unicode classes are large: `\w` alone needs about
/// 50 KiB, so this admits `\w{5}` or a few `\w`, `\d`, `\p{L}`.
pub const MAX_PATTERN_SIZE: usize = 256 * 1024;
/// The step budget of one evaluation. A step is what comparing two list
/// elements, copying one, or evaluating a node of a comprehension's body
/// costs: 40-100 ns in a release build, so the budget is 0.4-1 ms. What it
/// does not meter is bounded by the expression's length: each node
/// evaluated once (a 10 KiB expression: up to 0.2 ms), and the conversion
/// of the token into CEL values (0.05-0.4 ms for 16 KiB). Measured worst
/// cases (test `worst_case_costs`, release): 0.4-0.7 ms an evaluation,
/// where 16 scans of a 5,500-element claim took 39 ms and 400 `in` tests of
/// it 160 ms.
pub const MAX_STEPS: usize = 10_000;
/// String and bytes values pay one step per this many bytes.
const BYTES_PER_STEP: usize = 256;
/// Matching a pattern pays one step per this many bytes of its subject
/// (2-8 ns a byte measured, on adversarial subjects).
const MATCH_BYTES_PER_STEP: usize = 32;
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
/// The functions the compiled program calls that nobody can write (`@` is
/// not an identifier character): the step meter and precompiled `matches`.
const COST: &str = "@writ_cost";
const RANGE: &str = "@writ_range";
const MATCHES: &str = "@writ_matches";

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
    /// A list of strings (a resource server's delegable permissions).
    StringList,
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
    /// CEL's program, rewritten to meter its cost and to match precompiled
    /// patterns (see [`Rewriter`]).
    program: IdedExpr,
    /// The `matches()` patterns, by the index the program passes.
    patterns: Arc<[regex::Regex]>,
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
    /// Where the nesting estimate first exceeded [`MAX_NESTING`].
    too_deep: Option<usize>,
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

/// Scans the source once: translates quoted keys, enforces the structural
/// bounds (depth, comprehension nesting) and estimates how deep CEL's parse
/// tree will be ([`Nesting`]) before CEL sees it. Long on purpose: one pass
/// of a small lexer (strings, escapes, brackets, quoted keys, operators)
/// keeps every byte's state in one place; split, the states would be
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
    let mut nesting = Nesting::default();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let prev = if i > 0 { b[i - 1] } else { b' ' };
        match c {
            b'\'' | b'"' => {
                let end = string_end(b, i).ok_or_else(|| at(src, i, "unterminated string"))?;
                out.push_str(&src[i..end]);
                i = end;
                continue;
            }
            b'.' if matches!(b.get(i + 1), Some(b'\'' | b'"')) => {
                // `.'key'` → `['key']`: an index, of a literal.
                nesting.operator(MEMBER_WEIGHT, i);
                nesting.open(i);
                nesting.close(i);
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
                match c {
                    // An index (or a list literal: counted alike).
                    b'[' => nesting.operator(MEMBER_WEIGHT, i),
                    // A call (or plain brackets: counted alike).
                    b'(' => nesting.operator(CALL_WEIGHT, i),
                    _ => {}
                }
                nesting.open(i);
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
                nesting.close(i);
            }
            b'.' => nesting.operator(MEMBER_WEIGHT, i),
            b'+' | b'-' | b'*' | b'/' | b'%' | b'<' | b'>' | b'!' => {
                nesting.operator(OPERATOR_WEIGHT, i);
            }
            // `==` once; the `=` of `<=`, `>=`, `!=` belongs to its operator.
            b'=' if !matches!(prev, b'=' | b'!' | b'<' | b'>') => {
                nesting.operator(OPERATOR_WEIGHT, i);
            }
            b'&' | b'|' if b.get(i + 1) == Some(&c) && prev != c => nesting.logic(c, i),
            b'?' => nesting.conditional(i),
            b':' | b',' => nesting.end_chain(),
            b'i' if b.get(i + 1) == Some(&b'n')
                && !b.get(i + 2).is_some_and(|n| is_ident_byte(*n))
                && !(is_ident_byte(prev) || prev == b'.') =>
            {
                nesting.operator(OPERATOR_WEIGHT, i);
            }
            _ => {}
        }
        // Copy one UTF-8 character.
        let len = utf8_len(c);
        out.push_str(&src[i..(i + len).min(src.len())]);
        i += len;
    }
    nesting.finish(src.len());
    Ok(Translated {
        text: out,
        shifts,
        locals,
        too_deep: nesting.too_deep,
    })
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The estimate of how deep CEL's parse tree (and the program built from
/// it) will be, from the text alone: what the parser and interpreter recurse
/// through. Binary operators of one precedence chain nest to the left
/// (`((1 + 1) + 1) + 1`), and so do `.field` / `[index]` / `.method()`
/// chains: a chain is as deep as it has operators (counted all alike, which
/// over-estimates `a.b + c.d` a little). A bracket's content hangs below
/// the chain it is in, a bracket deeper. `&&` and `||` end a chain: CEL
/// builds a balanced tree of their operands. So do `?`, `:` and `,`.
#[derive(Default)]
struct Nesting {
    /// The enclosing brackets' levels, outermost first; `current` is the
    /// innermost.
    open: Vec<Level>,
    current: Level,
    too_deep: Option<usize>,
}

#[derive(Default)]
struct Level {
    /// Weight of the operators of the chain being read.
    chain: usize,
    /// Deepest bracket closed within that chain (its own weight included).
    inner: usize,
    /// Deepest chain already ended on this level.
    done: usize,
    /// `?` on this level (conditionals nest to the right).
    conditionals: usize,
    ands: usize,
    ors: usize,
}

/// Depth of a balanced tree joining `n + 1` operands.
fn log2_levels(n: usize) -> usize {
    (usize::BITS - n.leading_zeros()) as usize
}

impl Level {
    fn around(&self) -> usize {
        self.conditionals * CONDITIONAL_WEIGHT + log2_levels(self.ands) + log2_levels(self.ors)
    }
    /// How deep this level's content is, so far.
    fn depth(&self) -> usize {
        self.done.max(self.chain + self.inner) + self.around()
    }
}

impl Nesting {
    /// The deepest path through the text read so far: the chains of the
    /// enclosing levels up to their open bracket, then the current level.
    fn estimate(&self) -> usize {
        let outer: usize = self
            .open
            .iter()
            .map(|l| l.chain + l.around() + BRACKET_WEIGHT)
            .sum();
        outer + self.current.depth()
    }
    fn check(&mut self, at: usize) {
        if self.too_deep.is_none() && self.estimate() > MAX_NESTING {
            self.too_deep = Some(at);
        }
    }
    fn operator(&mut self, weight: usize, at: usize) {
        self.current.chain += weight;
        self.check(at);
    }
    fn end_chain(&mut self) {
        let l = &mut self.current;
        l.done = l.done.max(l.chain + l.inner);
        l.chain = 0;
        l.inner = 0;
    }
    fn logic(&mut self, op: u8, at: usize) {
        self.end_chain();
        if op == b'&' {
            self.current.ands += 1;
        } else {
            self.current.ors += 1;
        }
        self.check(at);
    }
    fn conditional(&mut self, at: usize) {
        self.end_chain();
        self.current.conditionals += 1;
        self.check(at);
    }
    fn open(&mut self, at: usize) {
        self.open.push(std::mem::take(&mut self.current));
        self.check(at);
    }
    fn close(&mut self, at: usize) {
        // An unbalanced bracket is CEL's syntax error to report.
        if let Some(outer) = self.open.pop() {
            let inner = std::mem::replace(&mut self.current, outer);
            let depth = inner.depth() + BRACKET_WEIGHT;
            self.current.inner = self.current.inner.max(depth);
            self.check(at);
        }
    }
    fn finish(&mut self, at: usize) {
        while !self.open.is_empty() {
            self.close(at);
        }
        self.end_chain();
        self.check(at);
    }
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
    /// Parses and checks an expression for a credential type: the length
    /// and structure from the text, then the rest ([`Self::build`]). Stored
    /// expressions are loaded through here too (`CredentialRules::new` on
    /// the token path): one saved before a limit existed fails to load, and
    /// the token request with it (`server_error`, logged), rather than run.
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
        if let Some(offset) = t.too_deep {
            return Err(at(
                src,
                offset,
                format!(
                    "the expression nests too deeply (more than {MAX_NESTING} levels: each \
                     operator of a chain like a + b + c counts {OPERATOR_WEIGHT}, each .field or \
                     [index] {MEMBER_WEIGHT}, each bracket {BRACKET_WEIGHT})"
                ),
            ));
        }
        Self::build(src, &t, domain, produces)
    }

    /// Parses the translated text and checks it. Long because it runs every
    /// admission rule in order (parse, allowed roots and functions,
    /// patterns, result type against a sample) and each names its own error
    /// for the admin.
    fn build(
        src: &str,
        t: &Translated,
        domain: Domain,
        produces: Produces,
    ) -> Result<Self, ExprError> {
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
        let mut ast = program.expression().clone();
        let mut rewriter = Rewriter::default();
        if let Err((id, message)) = rewriter.rewrite(&mut ast) {
            // Where CEL saw the node (a character index of the translated
            // text), as a byte offset of what the admin wrote.
            let offset = program
                .source_info()
                .offset_for(id)
                .and_then(|(start, _)| t.text.char_indices().nth(start as usize))
                .map_or_else(
                    || find_word(src, "matches").unwrap_or(0),
                    |(b, _)| t.original_offset(b),
                );
            return Err(at(src, offset, message));
        }
        let e = Self {
            source: src.to_owned(),
            program: ast,
            patterns: rewriter.patterns.into(),
            produces,
        };
        // Type check against a sample input: a result of the wrong type is
        // an error now rather than a refused token later. Missing keys are
        // fine here (the sample cannot know every claim).
        if let Ok(v) = e.evaluate(&sample(domain)) {
            let ok = matches!(
                (produces, &v),
                (Produces::Bool, cel::Value::Bool(_))
                    | (Produces::String, cel::Value::String(_))
                    | (Produces::StringList, cel::Value::List(_))
            );
            if !ok {
                return Err(at(
                    src,
                    0,
                    match produces {
                        Produces::Bool => "the expression must produce true or false",
                        Produces::String => "the mapping must produce a string",
                        Produces::StringList => "the expression must produce a list of strings",
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
        match self.evaluate(&input.0) {
            Ok(cel::Value::Bool(b)) => Ok(b),
            Ok(_) => Err("the expression did not produce true or false".into()),
            Err(e) => Err(short_error(&e)),
        }
    }

    /// Evaluates an attribute mapping to a subject string.
    pub fn map_subject(&self, input: &Input) -> Result<String, String> {
        debug_assert_eq!(self.produces, Produces::String);
        match self.evaluate(&input.0) {
            Ok(cel::Value::String(s)) if !s.is_empty() && s.len() <= 256 => Ok(s.to_string()),
            Ok(cel::Value::String(_)) => {
                Err("the mapping produced an empty or over-long subject (1-256 characters)".into())
            }
            Ok(_) => Err("the mapping did not produce a string".into()),
            Err(e) => Err(short_error(&e)),
        }
    }

    /// Evaluates an expression that produces a list of strings (each
    /// 1-128 characters, at most `max` of them): anything else is an error.
    pub fn strings(&self, input: &Input, max: usize) -> Result<Vec<String>, String> {
        debug_assert_eq!(self.produces, Produces::StringList);
        let list = match self.evaluate(&input.0) {
            Ok(cel::Value::List(l)) => l,
            Ok(_) => return Err("the expression did not produce a list".into()),
            Err(e) => return Err(short_error(&e)),
        };
        if list.len() > max {
            return Err(format!("the expression produced more than {max} items"));
        }
        let mut out: Vec<String> = Vec::with_capacity(list.len());
        for v in list.iter() {
            match v {
                cel::Value::String(s) if !s.is_empty() && s.len() <= 128 => {
                    if !out.iter().any(|o| o == s.as_str()) {
                        out.push(s.to_string());
                    }
                }
                _ => {
                    return Err(
                        "the list holds an item that is not a string of 1-128 characters".into(),
                    );
                }
            }
        }
        Ok(out)
    }

    /// One evaluation, with its own step budget.
    fn evaluate(&self, input: &Value) -> Result<cel::Value, ExecutionError> {
        let mut ctx = context(input);
        let steps = Arc::new(AtomicUsize::new(MAX_STEPS));
        // The names start with `@`, which no standard function does: adding
        // them cannot conflict. Were it to fail, the program's calls would
        // be undeclared references: refusals.
        let _ = ctx.add_function(COST, cost_function(Arc::clone(&steps)));
        let _ = ctx.add_function(RANGE, range_function(Arc::clone(&steps)));
        let _ = ctx.add_function(MATCHES, matches_function(steps, Arc::clone(&self.patterns)));
        cel::Value::resolve(&self.program, &ctx)
    }
}

/// Rewrites CEL's program once, when compiling:
///
/// * `s.matches('p')` (or `matches(s, 'p')`) becomes `@writ_matches(s, i)`,
///   `i` the index of `p` compiled here (at most [`MAX_PATTERN_SIZE`]); a
///   pattern that is not a literal is refused (one from the token would be
///   the presenter's, compiled on every request).
/// * A comprehension's range `r` becomes `@writ_range(r, n)`, `n` the nodes
///   its body evaluates per element: the range pays `n` steps per element.
/// * Each operand that comparisons, `in`, `+` and the named functions take
///   (except `size`, constant time) and each element of a list or map
///   literal (which copies it) becomes `@writ_cost(operand, n)`: it pays `n`
///   times for its size, `n` the times it is copied or scanned (see
///   [`Self::meter`]). Literals don't (their size is the expression's own).
#[derive(Default)]
struct Rewriter {
    patterns: Vec<regex::Regex>,
    next_id: u64,
}

/// A node the rewrite refuses, by CEL's id, and why.
type Refused = (u64, String);

impl Rewriter {
    /// Recursive: its frame (and those of the helpers it calls on the way
    /// down) is kept small, the program being up to [`MAX_NESTING`] deep.
    fn rewrite(&mut self, e: &mut IdedExpr) -> Result<(), Refused> {
        if let Expr::Call(call) = &e.expr
            && is_matches(call)
        {
            return self.rewrite_matches(e);
        }
        match &mut e.expr {
            Expr::Call(call) => self.rewrite_call(call),
            Expr::Comprehension(c) => self.rewrite_comprehension(c),
            Expr::List(list) => {
                for element in &mut list.elements {
                    self.rewrite(element)?;
                    self.meter(element);
                }
                Ok(())
            }
            Expr::Map(map) => map
                .entries
                .iter_mut()
                .try_for_each(|entry| self.rewrite_entry(&mut entry.expr)),
            Expr::Struct(st) => st
                .entries
                .iter_mut()
                .try_for_each(|entry| self.rewrite_entry(&mut entry.expr)),
            Expr::Select(select) => self.rewrite(&mut select.operand),
            Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => Ok(()),
        }
    }

    #[inline(never)]
    fn rewrite_call(&mut self, call: &mut CallExpr) -> Result<(), Refused> {
        if let Some(target) = call.target.as_deref_mut() {
            self.rewrite(target)?;
        }
        for arg in &mut call.args {
            self.rewrite(arg)?;
        }
        // A macro's own step (`@result + [x]`, `@result + 1`) is left
        // alone: CEL recognises its shape to append in place.
        let macro_step = call
            .args
            .first()
            .is_some_and(|a| matches!(&a.expr, Expr::Ident(n) if n.starts_with('@')));
        if pays(&call.func_name) && !macro_step {
            if let Some(target) = call.target.as_deref_mut() {
                self.meter(target);
            }
            for arg in &mut call.args {
                self.meter(arg);
            }
        }
        Ok(())
    }

    #[inline(never)]
    fn rewrite_comprehension(
        &mut self,
        c: &mut cel::common::ast::ComprehensionExpr,
    ) -> Result<(), Refused> {
        self.rewrite(&mut c.iter_range)?;
        self.rewrite(&mut c.accu_init)?;
        self.rewrite(&mut c.loop_cond)?;
        self.rewrite(&mut c.loop_step)?;
        self.rewrite(&mut c.result)?;
        let per_element = nodes(&c.loop_cond) + nodes(&c.loop_step);
        let range = std::mem::take(&mut c.iter_range);
        c.iter_range = self.call(RANGE, vec![range, int(per_element)]);
        Ok(())
    }

    /// `s.matches('p')` / `matches(s, 'p')` → `@writ_matches(s, i)`.
    #[inline(never)]
    fn rewrite_matches(&mut self, e: &mut IdedExpr) -> Result<(), Refused> {
        let Expr::Call(call) = &mut e.expr else {
            return Ok(());
        };
        let pattern = call.args.pop().unwrap_or_default();
        let mut subject = match call.target.take() {
            Some(target) => *target,
            None => call.args.pop().unwrap_or_default(),
        };
        self.rewrite(&mut subject)?;
        let index = self.pattern(&pattern)?;
        *e = self.call(MATCHES, vec![subject, int(index)]);
        Ok(())
    }

    #[inline(never)]
    fn rewrite_entry(&mut self, entry: &mut EntryExpr) -> Result<(), Refused> {
        match entry {
            EntryExpr::MapEntry(m) => {
                self.rewrite(&mut m.key)?;
                self.meter(&mut m.key);
                self.rewrite(&mut m.value)?;
                self.meter(&mut m.value);
            }
            EntryExpr::StructField(f) => {
                self.rewrite(&mut f.value)?;
                self.meter(&mut f.value);
            }
        }
        Ok(())
    }

    /// Compiles a `matches()` pattern; its index in [`Self::patterns`].
    #[inline(never)]
    fn pattern(&mut self, pattern: &IdedExpr) -> Result<usize, Refused> {
        let Expr::Literal(LiteralValue::String(p)) = &pattern.expr else {
            return Err((
                pattern.id,
                "matches() takes its pattern as a string literal, e.g. \
                 jwt.claims.sub.matches('^repo:acme/[a-z-]+:ref:refs/heads/main$')"
                    .into(),
            ));
        };
        if self.patterns.len() == MAX_PATTERNS {
            return Err((
                pattern.id,
                format!("more than {MAX_PATTERNS} matches() in one expression"),
            ));
        }
        let re = regex::RegexBuilder::new(p.inner())
            .size_limit(MAX_PATTERN_SIZE)
            .build()
            .map_err(|e| {
                let why = match e {
                    regex::Error::CompiledTooBig(_) => format!(
                        "the pattern compiles to more than {} KiB (large repetitions, or \
                         Unicode classes like \\w or \\p{{L}}, which are large: use [a-z0-9_] \
                         or smaller counts)",
                        MAX_PATTERN_SIZE / 1024
                    ),
                    // The last line says what is wrong (the others quote
                    // the pattern).
                    e => e
                        .to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                };
                (pattern.id, format!("invalid matches() pattern: {why}"))
            })?;
        self.patterns.push(re);
        Ok(self.patterns.len() - 1)
    }

    /// Makes `e` pay for its size: wraps it as `@writ_cost(e, 1)`. Not a
    /// literal, a macro's own variable (`@result`, which nobody can write),
    /// nor a call whose result is a number or a boolean (its operands
    /// paid). A concatenation `a + b` is not wrapped either: its operands,
    /// wrapped already, pay once more, as each `+` above them copies them
    /// again (`(a + b) + c` copies `a` twice). Wrapping the result instead
    /// would add a call per `+` to CEL's recursion.
    #[inline(never)]
    fn meter(&mut self, e: &mut IdedExpr) {
        match &mut e.expr {
            Expr::Literal(_) => {}
            Expr::Ident(name) if name.starts_with('@') => {}
            Expr::Call(call) if call.func_name == COST => {
                if let Some(Expr::Literal(LiteralValue::Int(n))) =
                    call.args.get_mut(1).map(|a| &mut a.expr)
                {
                    *n = CelInt::from(n.inner().saturating_add(1));
                }
            }
            Expr::Call(call) if call.func_name == operators::ADD => {
                if let Some(target) = call.target.as_deref_mut() {
                    self.meter(target);
                }
                for arg in &mut call.args {
                    self.meter(arg);
                }
            }
            Expr::Call(call) if scalar(&call.func_name) => {}
            _ => {
                let inner = std::mem::take(e);
                *e = self.call(COST, vec![inner, int(1)]);
            }
        }
    }

    fn call(&mut self, name: &str, args: Vec<IdedExpr>) -> IdedExpr {
        // Ids of nodes CEL never saw: far above any it gave (they only
        // locate errors in the source).
        self.next_id += 1;
        IdedExpr {
            id: (1 << 48) + self.next_id,
            expr: Expr::Call(CallExpr {
                func_name: name.to_owned(),
                target: None,
                args,
            }),
        }
    }
}

fn is_matches(call: &CallExpr) -> bool {
    call.func_name == "matches"
        && match &call.target {
            Some(_) => call.args.len() == 1,
            None => call.args.len() == 2,
        }
}

/// Whether a function's operands pay for their size: those that compare,
/// copy or scan them.
fn pays(function: &str) -> bool {
    match function {
        operators::ADD
        | operators::EQUALS
        | operators::NOT_EQUALS
        | operators::LESS
        | operators::LESS_EQUALS
        | operators::GREATER
        | operators::GREATER_EQUALS
        | operators::IN => true,
        "size" => false,
        f => f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !f.starts_with('_'),
    }
}

/// Whether a function's result is a number or a boolean, whatever its
/// operands: it costs nothing to handle further.
fn scalar(function: &str) -> bool {
    matches!(
        function,
        operators::EQUALS
            | operators::NOT_EQUALS
            | operators::LESS
            | operators::LESS_EQUALS
            | operators::GREATER
            | operators::GREATER_EQUALS
            | operators::IN
            | operators::LOGICAL_AND
            | operators::LOGICAL_OR
            | operators::LOGICAL_NOT
            | operators::NOT_STRICTLY_FALSE
            | operators::SUBSTRACT
            | operators::MULTIPLY
            | operators::DIVIDE
            | operators::MODULO
            | operators::NEGATE
            | MATCHES
            | "size"
            | "contains"
            | "startsWith"
            | "endsWith"
            | "int"
            | "uint"
            | "double"
            | "bool"
    )
}

fn int(n: usize) -> IdedExpr {
    IdedExpr {
        id: 0,
        expr: Expr::Literal(LiteralValue::Int(CelInt::from(
            i64::try_from(n).unwrap_or(i64::MAX),
        ))),
    }
}

/// Nodes of a program, each evaluated once per element of a comprehension.
fn nodes(e: &IdedExpr) -> usize {
    1 + match &e.expr {
        Expr::Call(call) => {
            call.target.as_deref().map_or(0, nodes) + call.args.iter().map(nodes).sum::<usize>()
        }
        Expr::Comprehension(c) => [
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ]
        .into_iter()
        .map(nodes)
        .sum(),
        Expr::List(list) => list.elements.iter().map(nodes).sum(),
        Expr::Map(map) => map.entries.iter().map(|e| entry_nodes(&e.expr)).sum(),
        Expr::Struct(st) => st.entries.iter().map(|e| entry_nodes(&e.expr)).sum(),
        Expr::Select(select) => nodes(&select.operand),
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => 0,
    }
}

fn entry_nodes(entry: &EntryExpr) -> usize {
    match entry {
        EntryExpr::MapEntry(m) => nodes(&m.key) + nodes(&m.value),
        EntryExpr::StructField(f) => nodes(&f.value),
    }
}

/// The type `cel::Context::add_function` takes for a function that sees
/// its arguments unconverted (and can hand one back as it came).
type Native = Box<
    dyn for<'c, 'a> Fn(&mut FunctionContext<'c, 'a>) -> Result<CowVal<'c, 'a>, ExecutionError>
        + Send
        + Sync,
>;

/// `@writ_cost(v, n)`: pays `n` times for `v`'s size, then is `v`.
fn cost_function(steps: Arc<AtomicUsize>) -> Native {
    Box::new(move |ftx: &mut FunctionContext<'_, '_>| {
        let times = ftx
            .args
            .pop()
            .and_then(|n| n.downcast_ref::<CelInt>().map(|n| *n.inner()))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(ExecutionError::missing_argument_or_target)?;
        let v = ftx
            .args
            .pop()
            .ok_or_else(ExecutionError::missing_argument_or_target)?;
        let left = steps.load(Ordering::Relaxed);
        charge(
            &steps,
            weight(&*v, left / times.max(1)).saturating_mul(times),
        )?;
        Ok(v)
    })
}

/// `@writ_range(r, n)`: pays `n` steps per element of `r` (the body) and
/// `r`'s size (each element is copied into the loop variable), then is `r`.
fn range_function(steps: Arc<AtomicUsize>) -> Native {
    Box::new(move |ftx: &mut FunctionContext<'_, '_>| {
        let per_element = ftx
            .args
            .pop()
            .and_then(|n| n.downcast_ref::<CelInt>().map(|n| *n.inner()))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(ExecutionError::missing_argument_or_target)?;
        let range = ftx
            .args
            .pop()
            .ok_or_else(ExecutionError::missing_argument_or_target)?;
        let elements = range
            .as_sizer()
            .and_then(|s| usize::try_from(*s.size().inner()).ok())
            .unwrap_or(0);
        let body = elements.saturating_mul(per_element);
        let left = steps.load(Ordering::Relaxed).saturating_sub(body);
        charge(&steps, body.saturating_add(weight(&*range, left)))?;
        Ok(range)
    })
}

/// `@writ_matches(s, i)`: whether pattern `i` matches `s`, paying for the
/// length of `s`.
fn matches_function(steps: Arc<AtomicUsize>, patterns: Arc<[regex::Regex]>) -> Native {
    Box::new(move |ftx: &mut FunctionContext<'_, '_>| {
        let pattern = ftx
            .args
            .get(1)
            .and_then(|n| n.downcast_ref::<CelInt>().map(|n| *n.inner()))
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|i| patterns.get(i))
            .ok_or_else(ExecutionError::missing_argument_or_target)?;
        let subject = ftx
            .args
            .first()
            .and_then(|s| s.downcast_ref::<CelString>())
            .ok_or_else(|| {
                ExecutionError::function_error("matches", "matches() applies to a string")
            })?;
        charge(&steps, 1 + subject.inner().len() / MATCH_BYTES_PER_STEP)?;
        Ok(CowVal::owned(CelBool::from(
            pattern.is_match(subject.inner()),
        )))
    })
}

/// Takes `n` steps from the evaluation's budget, or fails it. The failure
/// is an error like any other in CEL: `||` and `&&` absorb it only where
/// the other operand decides the result anyway, so running out of steps
/// refuses or leaves the result as it would have been; it never makes one.
fn charge(steps: &AtomicUsize, n: usize) -> Result<(), ExecutionError> {
    let left = steps.load(Ordering::Relaxed);
    if n > left {
        steps.store(0, Ordering::Relaxed);
        return Err(ExecutionError::function_error(
            "cost",
            format!(
                "the expression needs more than {MAX_STEPS} steps for this input (its lists, \
                 maps or strings are too large for what the expression does with them)"
            ),
        ));
    }
    steps.store(left - n, Ordering::Relaxed);
    Ok(())
}

/// What handling `v` costs in steps: 1, plus 1 per element of a list or
/// entry of a map, nested ones included, plus 1 per [`BYTES_PER_STEP`]
/// bytes of a string. Counting stops once past `cap` (what is left of the
/// budget): measuring a list the budget cannot pay for costs no more than
/// the budget.
fn weight(v: &dyn Val, cap: usize) -> usize {
    let mut total = 1 + own_weight(v);
    if v.downcast_ref::<CelList>().is_none() && v.downcast_ref::<CelMap>().is_none() {
        return total;
    }
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        if total > cap {
            break;
        }
        if let Some(list) = v.downcast_ref::<CelList>() {
            for e in list.inner() {
                total += own_weight(&**e);
                if total > cap {
                    break;
                }
                todo.push(&**e);
            }
        } else if let Some(map) = v.downcast_ref::<CelMap>() {
            for e in map.inner().values() {
                total += own_weight(&**e);
                if total > cap {
                    break;
                }
                todo.push(&**e);
            }
        }
    }
    total
}

/// A value's own part of [`weight`]: its elements (not theirs) or bytes.
fn own_weight(v: &dyn Val) -> usize {
    if let Some(list) = v.downcast_ref::<CelList>() {
        list.inner().len()
    } else if let Some(map) = v.downcast_ref::<CelMap>() {
        map.inner().len()
    } else if let Some(s) = v.downcast_ref::<CelString>() {
        s.inner().len() / BYTES_PER_STEP
    } else if let Some(b) = v.downcast_ref::<CelBytes>() {
        b.inner().len() / BYTES_PER_STEP
    } else {
        // Another collection: its own elements at least.
        v.as_sizer()
            .and_then(|s| usize::try_from(*s.size().inner()).ok())
            .unwrap_or(0)
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

/// CEL's standard environment, built once (`Context::default()` built one
/// per evaluation).
static ENV: LazyLock<Arc<cel::Env>> = LazyLock::new(|| Arc::new(cel::Env::stdlib()));

fn context(input: &Value) -> cel::Context<'static, 'static> {
    let mut ctx = cel::Context::with_env(Arc::clone(&ENV));
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

    /// Runs `f` on a thread with a 256 KiB stack (Writ's workers have 2 MiB).
    fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    fn too_deep(src: &str) -> bool {
        oidc(src).is_err_and(|e| e.message.contains("nests too deeply"))
    }

    #[test]
    fn chains_too_deep_for_the_stack_are_refused_before_cel_parses_them() {
        // Just over the limit: before the limit existed these compiled (and
        // ran: the limit keeps a wide margin), so this part fails cleanly.
        let n = MAX_NESTING / OPERATOR_WEIGHT + 1;
        assert!(too_deep(&format!("{}1 == 0", "1 + ".repeat(n))));
        assert!(!too_deep(&format!("{}1 == 0", "1 + ".repeat(n - 8))));
        let e = oidc(&format!(
            "size({}jwt.claims.sub) == 0",
            "jwt.claims.sub + ".repeat(n)
        ))
        .unwrap_err();
        assert!(e.message.contains("nests too deeply"), "{e}");
        assert_eq!(e.line, 1);
        assert!(e.column > 1, "{e}");
        // The hostile corpus's cases: 1,500 additions overflowed the 2 MiB
        // stack of a release build and aborted the process. The pre-scan
        // refuses them without recursing, so even a small stack is enough
        // (before the fix, these aborted the test process rather than fail).
        let hostile = [
            format!("{}1 == 0", "1 + ".repeat(1500)),
            format!("{}1 == 0", "1 * ".repeat(2500)),
            format!("jwt.claims{} == 1", "['a']".repeat(2000)),
            format!("jwt{} == 1", ".a".repeat(3000)),
            format!("{}false", "jwt.claims.sub == 'x' ? false : ".repeat(200)),
            format!("{}(jwt.claims.sub == 'x')", "!".repeat(10_000)),
            format!("jwt.claims.sub{} == 'x'", ".lowerAscii()".repeat(400)),
            format!("size({}1{}) == 0", "[".repeat(10), "]".repeat(10)),
        ];
        on_small_stack(move || {
            for src in hostile {
                assert!(oidc(&src).is_err(), "{}", &src[..40]);
            }
        });
        // Logic joins are balanced by CEL: long ones stay admitted.
        assert!(oidc(&format!("{}false", "jwt.claims.sub != '' && ".repeat(400))).is_ok());
        let e = max_length_example();
        assert!(!too_deep(&e));
    }

    /// The margin behind [`MAX_NESTING`]: for each shape that makes CEL
    /// recurse (chains, brackets, conditionals, comprehension bodies), the
    /// deepest expression admitted is compiled (parse, rewrite, a sample
    /// evaluation) and evaluated on a 256 KiB stack, an eighth of a
    /// worker's. An overflow would abort the test process.
    #[test]
    fn deepest_admitted_expressions_run_on_a_small_stack() {
        type Shape = fn(usize) -> String;
        let shapes: [(&str, Shape); 14] = [
            ("additions", |n| format!("{}1 == 0", "1 + ".repeat(n))),
            ("comparisons", |n| format!("{}1", "1 == ".repeat(n))),
            ("concatenations", |n| {
                format!("size({}jwt.claims.sub) == 0", "jwt.claims.sub + ".repeat(n))
            }),
            ("indexes", |n| {
                format!("jwt.claims{} == 1", "['a']".repeat(n))
            }),
            ("selections", |n| format!("jwt{} == 1", ".a".repeat(n))),
            ("method calls", |n| {
                format!("jwt.claims.sub{} == 'x'", ".lowerAscii()".repeat(n))
            }),
            ("conditionals", |n| {
                format!(
                    "{}(1 + 1 + 1 == 3)",
                    "jwt.claims.sub == 'x' ? false : ".repeat(n)
                )
            }),
            ("parentheses", |n| {
                let d = MAX_DEPTH.min(n);
                format!(
                    "{}{}1 == 0{}",
                    "(".repeat(d),
                    "1 + ".repeat(n - d),
                    ")".repeat(d)
                )
            }),
            ("lists", |n| {
                let d = (MAX_DEPTH - 1).min(n);
                format!(
                    "size({}{}1{}) == 0",
                    "[".repeat(d),
                    "1 + ".repeat(n - d),
                    "]".repeat(d)
                )
            }),
            ("maps", |n| {
                let d = (MAX_DEPTH - 1).min(n);
                let open = "{'a': ".repeat(d);
                format!(
                    "size({open}{}1{}) == 0",
                    "1 + ".repeat(n - d),
                    "}".repeat(d)
                )
            }),
            ("calls", |n| {
                let d = MAX_DEPTH.min(n);
                format!(
                    "{}{}1{} == 0",
                    "int(".repeat(d),
                    "1 + ".repeat(n - d),
                    ")".repeat(d)
                )
            }),
            ("comprehension body", |n| {
                format!("jwt.claims.aud.exists(x, {}x == '')", "x + ".repeat(n))
            }),
            ("half brackets, half chain", |n| {
                let d = (MAX_DEPTH / 2).min(n);
                let chain = "jwt.claims.sub + ".repeat(n - d);
                format!("{}size({chain}'x') == 0{}", "(".repeat(d), ")".repeat(d))
            }),
            ("matches and ternaries", |n| {
                format!(
                    "{}jwt.claims.sub.matches('^a')",
                    "jwt.claims.sub == 'x' ? false : ".repeat(n)
                )
            }),
        ];
        let input = k8s_input();
        on_small_stack(move || {
            for (name, shape) in shapes {
                // The deepest admitted: refusals come from the pre-scan,
                // which does not recurse.
                let (mut lo, mut hi) = (0, 4 * MAX_NESTING);
                while hi - lo > 1 {
                    let mid = (lo + hi) / 2;
                    if oidc(&shape(mid)).is_err() {
                        hi = mid;
                    } else {
                        lo = mid;
                    }
                }
                let src = shape(lo);
                assert!(lo >= 8, "{name}: {lo}");
                let e = oidc(&src).map_err(|e| format!("{name}: {e}")).unwrap();
                let _ = e.check(&input);
                // CEL's error paths at that depth too (its own recursion
                // limit's overflowed a 256 KiB stack: the pre-scan keeps
                // admitted expressions well below it).
                let _ = oidc(&format!("{src} )"));
                let deep = src.len() * 3 / 4;
                let deep = (deep..src.len())
                    .find(|&i| src.is_char_boundary(i))
                    .unwrap_or(0);
                let _ = oidc(&format!("{} === {}", &src[..deep], &src[deep..]));
            }
        });
    }

    #[test]
    fn matches_takes_a_literal_pattern_compiled_once() {
        let e = oidc("jwt.claims.sub.matches('^system:serviceaccount:[a-z]+:billing$')").unwrap();
        assert_eq!(e.check(&k8s_input()), Ok(true));
        let e =
            oidc("matches(jwt.claims.sub, '^sys') && !jwt.claims.sub.matches('billing$')").unwrap();
        assert_eq!(e.check(&k8s_input()), Ok(false));
        // A non-string subject is a refusal, as it was.
        let e = oidc("jwt.claims.aud.matches('w')").unwrap();
        assert!(e.check(&k8s_input()).is_err());
        // A pattern from the token would be the presenter's to choose.
        let e = oidc("jwt.claims.sub.matches(jwt.claims.aud[0])").unwrap_err();
        assert!(e.message.contains("string literal"), "{e}");
        let e = oidc("'x'.matches('a' + 'b')").unwrap_err();
        assert!(e.message.contains("string literal"), "{e}");
        // An invalid pattern is refused on save, with where it is.
        let e = oidc("jwt.claims.sub == 'x' || jwt.claims.sub.matches('(')").unwrap_err();
        assert!(e.message.contains("invalid matches() pattern"), "{e}");
        assert!(e.column > 25, "{e}");
        // Huge compiled programs: CEL compiled them on every evaluation
        // (about 65 ms each for this one).
        let e = oidc(r"jwt.claims.sub.matches('\\w{1000}\\p{L}{1000}')").unwrap_err();
        assert!(e.message.contains("compiles to more than"), "{e}");
        assert!(oidc(r"jwt.claims.sub.matches('((a{100}){100}){100}')").is_err());
        assert!(oidc(r"jwt.claims.sub.matches('^[\\w.-]+$')").is_ok());
        let many = ["jwt.claims.sub.matches('a')"; MAX_PATTERNS + 1].join(" || ");
        assert!(oidc(&many).unwrap_err().message.contains("matches()"));
    }

    #[test]
    fn the_largest_pattern_is_not_compiled_per_evaluation() {
        // The largest `\w{n}` admitted (Unicode `\w` is a large class).
        let src = |n: usize| format!(r"jwt.claims.sub.matches('^\\w{{{n}}}$')");
        let mut n = 1;
        while n < 64 && oidc(&src(n + 1)).is_ok() {
            n += 1;
        }
        let pattern = format!(r"^\w{{{n}}}$");
        let e = oidc(&src(n)).unwrap();
        let input = k8s_input();
        assert_eq!(e.check(&input), Ok(false));
        // 100 evaluations against 10 compilations of the pattern: when CEL
        // compiled it on every call, the evaluations cost 10 times more.
        // (Release: compiling takes about 1 ms; an evaluation about 20 µs.)
        let t = std::time::Instant::now();
        for _ in 0..10 {
            let _ = regex::RegexBuilder::new(&pattern)
                .size_limit(MAX_PATTERN_SIZE)
                .build()
                .unwrap();
        }
        let compile_10 = t.elapsed();
        let t = std::time::Instant::now();
        for _ in 0..100 {
            let _ = e.check(&input);
        }
        let evaluate_100 = t.elapsed();
        assert!(
            evaluate_100 < compile_10,
            "100 evaluations {evaluate_100:?}, 10 compilations {compile_10:?}"
        );
    }

    fn big_input(elements: usize) -> Input {
        Input::new("app_1", "fc_1").with(
            "jwt",
            json!({"header": {}, "claims": {
                "sub": "system:serviceaccount:payments:billing",
                "aud": ["writ"],
                "big": vec![0; elements],
                "pad": "p".repeat(6 * 1024),
                "groups": (0..200).map(|i| format!("group-{i}")).collect::<Vec<_>>(),
            }}),
        )
    }

    fn over_budget(r: &Result<bool, String>) -> bool {
        r.as_ref().is_err_and(|e| e.contains("steps"))
    }

    #[test]
    fn an_evaluation_is_refused_past_its_step_budget() {
        // The hostile corpus's case: 16 scans of the 5,500-element list a
        // 16 KiB token can carry took 60-110 ms per evaluation.
        let scans = format!("{}false", "jwt.claims.big.exists(x, x == 1) || ".repeat(16));
        let e = oidc(&scans).unwrap();
        assert!(over_budget(&e.check(&big_input(5500))));
        // No comprehension needed: 400 membership tests of that list took
        // 160 ms.
        let e = oidc(&format!("{}false", "1 in jwt.claims.big || ".repeat(400))).unwrap();
        assert!(over_budget(&e.check(&big_input(5500))));
        // Concatenations copy what they join, again at each `+`.
        let cat = format!(
            "size({}jwt.claims.pad) == 0",
            "jwt.claims.pad + ".repeat(30)
        );
        assert!(over_budget(&oidc(&cat).unwrap().check(&big_input(0))));
        // A list literal copies its elements.
        let copies = format!("size([{}]) == 0", vec!["jwt.claims"; 200].join(", "));
        assert!(over_budget(&oidc(&copies).unwrap().check(&big_input(1000))));
        // A map builds a value per element.
        let map = "size(jwt.claims.big.map(x, jwt.claims.pad + jwt.claims.pad)) == 0";
        assert!(over_budget(&oidc(map).unwrap().check(&big_input(1500))));
    }

    #[test]
    fn ordinary_expressions_stay_well_within_the_budget() {
        let input = big_input(0);
        let yes = [
            "jwt.claims.groups.exists(g, g == 'group-199')",
            "'group-150' in jwt.claims.groups && jwt.claims.groups.all(g, g.startsWith('group-'))",
            "jwt.claims.groups.exists_one(g, g == 'group-7')",
            "jwt.claims.groups.filter(g, g.endsWith('9')).size() == 20",
            "jwt.claims.groups.map(g, g + '!').exists(g, g == 'group-3!')",
            "size(jwt.claims.pad + jwt.claims.pad) == 12288",
            "jwt.claims.aud.map(a, [a, a]) == [['writ', 'writ']]",
            "{'k': jwt.claims.sub}.k == jwt.claims.sub",
            "jwt.claims.sub.matches('^system:') && jwt.claims.sub != jwt.claims.pad",
        ];
        for src in yes {
            assert_eq!(oidc(src).unwrap().check(&input), Ok(true), "{src}");
        }
        let e = max_length_example();
        assert_eq!(oidc(&e).unwrap().check(&big_input(5500)), Ok(true));
        // One pass over the largest list is fine; sixteen are not.
        let e = oidc("1 in jwt.claims.big").unwrap();
        assert_eq!(e.check(&big_input(5500)), Ok(false));
    }

    #[test]
    fn running_out_of_steps_never_turns_a_refusal_into_a_pass() {
        let input = big_input(5500);
        let costly = "jwt.claims.big.exists(x, x == 1)";
        for (src, want) in [
            (format!("{costly} || false"), None),
            (format!("!({costly})"), None),
            (format!("{costly} && false"), Some(false)),
            // Holds whatever the scan would have said.
            (format!("{costly} || true"), Some(true)),
            (format!("{costly} ? true : true"), None),
        ] {
            let got = oidc(&src).unwrap().check(&input);
            match want {
                None => assert!(over_budget(&got), "{src}: {got:?}"),
                Some(b) => assert_eq!(got, Ok(b), "{src}"),
            }
        }
    }

    /// Per-evaluation cost of the costliest expressions the limits admit,
    /// against the largest claims a 16 KiB token can carry. Prints a table;
    /// run in a release build:
    /// `cargo test --release -p writ-core --features test-fixtures --lib worst_case -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn worst_case_costs() {
        fn median_us(e: &Expression, input: &Input) -> (f64, String) {
            let outcome = match e.check(input) {
                Ok(b) => format!("{b}"),
                Err(e) if e.contains("steps") => "over budget".into(),
                Err(e) => e.chars().take(30).collect(),
            };
            let mut times: Vec<f64> = (0..21)
                .map(|_| {
                    let t = std::time::Instant::now();
                    let _ = e.check(input);
                    t.elapsed().as_secs_f64() * 1e6
                })
                .collect();
            times.sort_by(f64::total_cmp);
            (times[10], outcome)
        }
        let list = |n: usize| big_input(n);
        let pad = |bytes: usize| {
            Input::new("a", "b").with(
                "jwt",
                json!({"claims": {"sub": "s", "pad": "p".repeat(bytes), "big": [0]}}),
            )
        };
        let mut rows: Vec<(String, f64, String)> = Vec::new();
        let mut run = |label: String, src: &str, input: &Input| {
            let e = oidc(src).unwrap();
            let (us, outcome) = median_us(&e, input);
            rows.push((label, us, outcome));
        };
        for n in [0, 40, 50, 60, 100, 800, 5500] {
            let src = format!("{}false", "jwt.claims.big.exists(x, x == 1) || ".repeat(16));
            run(format!("16 exists over {n}"), &src, &list(n));
        }
        for n in [400, 800, 1100, 5500] {
            run(
                format!("1 exists over {n}"),
                "jwt.claims.big.exists(x, x == 1)",
                &list(n),
            );
        }
        for n in [10, 20, 24, 30, 5500] {
            let src = format!("{}false", "1 in jwt.claims.big || ".repeat(400));
            run(format!("400 `in` over {n}"), &src, &list(n));
        }
        for n in [2, 4, 6, 100] {
            let body = vec!["x == 2"; 300].join(" || ");
            run(
                format!("300-term body over {n}"),
                &format!("jwt.claims.big.exists(x, {body})"),
                &list(n),
            );
        }
        for bytes in [1024, 2048, 4096, 10_000] {
            let src = format!(
                "size({}jwt.claims.pad) == 0",
                "jwt.claims.pad + ".repeat(30)
            );
            run(format!("30 concatenations of {bytes} B"), &src, &pad(bytes));
        }
        for bytes in [2048, 4096, 10_000] {
            let src = format!(
                "{}false",
                "jwt.claims.pad == jwt.claims.sub || ".repeat(250)
            );
            run(format!("250 == of {bytes} B"), &src, &pad(bytes));
        }
        for bytes in [4096, 10_000] {
            let src = [r"jwt.claims.pad.matches('\\w{4}[^p]')"; MAX_PATTERNS].join(" || ");
            run(
                format!("{MAX_PATTERNS} matches of {bytes} B"),
                &src,
                &pad(bytes),
            );
        }
        for n in [0, 1000, 5500] {
            run(
                format!("max-length example, list {n}"),
                &max_length_example(),
                &list(n),
            );
            run(
                format!("jwt.claims.sub == 'x', list {n}"),
                "jwt.claims.sub == 'x'",
                &list(n),
            );
        }
        for n in [10, 50, 5500] {
            let src = format!("size([{}]) == 0", vec!["jwt.claims.big"; 300].join(", "));
            run(format!("300 copies of a {n} list"), &src, &list(n));
        }
        // What the budget does not meter: nodes evaluated once each.
        let src = format!("size([{}1]) == 0", "1, ".repeat(3300));
        run("a literal list of 3,300 elements".into(), &src, &list(0));
        let src = format!("{}false", "true && ".repeat(1250));
        run("1,250 && of literals".into(), &src, &list(0));
        let src = format!("{}false", "jwt.claims.sub == 'x' || ".repeat(400));
        run("400 comparisons, list 5500".into(), &src, &list(5500));
        for (label, us, outcome) in rows {
            println!("{label:<40} {us:>10.0} us  {outcome}");
        }
    }

    #[test]
    fn expressions_are_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Expression>();
    }
    /// Measures how deep CEL recurses, for [`MAX_NESTING`]'s table: compiles
    /// (without the pre-scan) and evaluates one shape at depth `PROBE_N` on
    /// a thread of `PROBE_STACK` bytes. An overflow aborts the process, so a
    /// script runs it once per depth and bisects, e.g.
    /// `PROBE_KIND=add PROBE_N=170 PROBE_STACK=262144 <test binary> --ignored --exact federation::expr::tests::stack_probe`
    /// prints `PROBE ok` or dies.
    #[test]
    #[ignore]
    fn stack_probe() {
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        let n: usize = var("PROBE_N").parse().unwrap_or(1);
        let src = match var("PROBE_KIND").as_str() {
            "add" => format!("{}1 == 0", "1 + ".repeat(n)),
            "rel" => format!("{}1", "1 == ".repeat(n)),
            "index" => format!("jwt.claims{} == 1", "['a']".repeat(n)),
            "select" => format!("jwt{} == 1", ".a".repeat(n)),
            "call" => format!("jwt.claims.sub{} == 'x'", ".lowerAscii()".repeat(n)),
            "cat" => format!("size({}jwt.claims.sub) == 0", "jwt.claims.sub + ".repeat(n)),
            "body" => format!("jwt.claims.aud.exists(x, {}x == '')", "x + ".repeat(n)),
            "tern" => format!("{}false", "jwt.claims.sub == 'x' ? false : ".repeat(n)),
            "paren" => format!("{}true{}", "(".repeat(n), ")".repeat(n)),
            "list" => format!("size({}1{}) == 0", "[".repeat(n), "]".repeat(n)),
            "map" => format!("size({}1{}) == 0", "{'a': ".repeat(n), "}".repeat(n)),
            "fn" => format!("{}1{} == 0", "int(".repeat(n), ")".repeat(n)),
            other => panic!("unknown PROBE_KIND '{other}'"),
        };
        let stack = var("PROBE_STACK").parse().unwrap_or(256 * 1024);
        let out = std::thread::Builder::new()
            .stack_size(stack)
            .spawn(move || {
                let t = Translated {
                    text: src.clone(),
                    shifts: vec![],
                    locals: vec!["x".into()],
                    too_deep: None,
                };
                match Expression::build(&src, &t, Domain::Oidc, Produces::Bool) {
                    Ok(e) => format!("ok {:?}", e.check(&k8s_input()).is_ok()),
                    Err(e) => format!("refused {e}"),
                }
            })
            .unwrap()
            .join()
            .unwrap();
        println!("PROBE {}", out.chars().take(150).collect::<String>());
    }
}
