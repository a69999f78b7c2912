//! The stable fuzz run (CI runs it through `scripts/test`): each target
//! replays its committed corpus, `corpus/<target>/`, then runs inputs
//! mutated from it, libFuzzer-style but without coverage feedback.
//!
//! `FUZZ_ITERATIONS` (default 20000) bounds the mutated inputs per target,
//! `FUZZ_SECONDS` (default 10) the time; `FUZZ_SEED` picks other mutations
//! than CI's. An input that breaks a property is written to
//! `artifacts/replay/` and named in the failure.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Bytes that end or split fields.
const INTERESTING: [u8; 14] = [
    0, 0xff, b'\r', b'\n', b':', b'/', b'%', b'.', b'[', b']', b'"', b'(', b'0', b'9',
];

/// A xorshift generator: the same seed, the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (which must not be 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The tokens of `tokens.dict` (libFuzzer's format: one quoted string a
/// line, with `\\`, `\"` and `\xNN` escapes).
fn tokens() -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tokens.dict");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let quoted = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"')?.strip_suffix('"'));
    quoted.map(unescape).collect()
}

/// A dictionary token's bytes.
fn unescape(token: &str) -> Vec<u8> {
    let bytes = token.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(b'x')) => {
                let hex = token.get(i + 2..i + 4).and_then(|h| u8::from_str_radix(h, 16).ok());
                out.push(hex.unwrap_or(b'x'));
                i += 4;
            }
            (b'\\', Some(&escaped)) => {
                out.push(escaped);
                i += 2;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// `input` changed in one to four places.
fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>], tokens: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        let len = 1 + rng.below(16).min(out.len().saturating_sub(at));
        match rng.below(7) {
            0 if at < out.len() => out[at] ^= 1 << rng.below(8),
            1 if at < out.len() => out[at] = INTERESTING[rng.below(INTERESTING.len())],
            2 => {
                let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                out.splice(at..at, bytes);
            }
            3 if at < out.len() => {
                out.drain(at..(at + len).min(out.len()));
            }
            4 if at < out.len() => {
                let copy = out[at..(at + len).min(out.len())].to_vec();
                out.splice(at..at, copy);
            }
            5 => {
                let other = &corpus[rng.below(corpus.len())];
                let from = rng.below(other.len() + 1);
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            _ => {
                let token = &tokens[rng.below(tokens.len())];
                out.splice(at..at, token.iter().copied());
            }
        }
    }
    out
}

/// An environment variable as a number, or `default`.
fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Runs `run` on `input`; on a panic, saves the input and names it.
fn run_one(name: &str, run: fn(&[u8]), input: &[u8], origin: &str) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| run(input))) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts/replay");
        let file = dir.join(format!("{name}-{:016x}", fnv(input)));
        let saved = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&file, input));
        eprintln!(
            "{name}: a property broke on {origin}, saved to {} ({saved:?}):\n{}",
            file.display(),
            input.escape_ascii()
        );
        resume_unwind(panic);
    }
}

/// FNV-1a, to name a saved input.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Replays the corpus of target `name`, then mutations of it.
fn replay(name: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    files.sort();
    let corpus: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap_or_default()).collect();
    assert!(!corpus.is_empty(), "{} holds no seeds", dir.display());
    for (file, input) in files.iter().zip(&corpus) {
        run_one(name, run, input, &file.display().to_string());
    }
    let iterations = setting("FUZZ_ITERATIONS", 20000);
    let deadline = Instant::now() + Duration::from_secs(setting("FUZZ_SECONDS", 10));
    let mut rng = Rng(setting("FUZZ_SEED", 0x5eed) ^ fnv(name.as_bytes()) | 1);
    let tokens = tokens();
    assert!(!tokens.is_empty(), "tokens.dict holds no tokens");
    let mut done = 0;
    while done < iterations && Instant::now() < deadline {
        let seed = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, seed, &corpus, &tokens);
        run_one(name, run, &input, &format!("mutation {done}"));
        done += 1;
    }
    eprintln!("{name}: {} seeds, {done} mutated inputs", corpus.len());
}

macro_rules! targets {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            replay(stringify!($name), clawgate_fuzz::$name::run);
        }
    )*};
}

targets!(aws_facet, chunks, connect, rules, sigv4, uri_template);
