//! Benchmark runner for `npm run bench attest`: Phala's dcap-qvl (the same
//! pinned crate as the oracle) verifying quotes in a loop, one thread.
//! One JSON case per stdin line: {"id", "quotes": [hex, ...], "collateral":
//! {QuoteCollateralV3 fields, binary ones as hex}, "root": hex DER (absent =
//! Intel SGX Root CA), "at": unix seconds, "seconds": wall-clock seconds to
//! loop}. Quotes are verified round-robin. Everything is decoded before the
//! loop, so only verification is timed (the crate keeps nothing between calls).
//! Answer per line: {"id", "status", "n", "cpu_ns", "wall_ns"} or {"id", "error"};
//! cpu_ns is this thread's on-CPU time (/proc/thread-self/schedstat).
use dcap_qvl::{verify::QuoteVerifier, QuoteCollateralV3};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

fn text(v: &Value, k: &str) -> Result<String, String> {
    v[k].as_str().map(str::to_owned).ok_or(format!("case field {k} missing"))
}
fn bytes(v: &Value, k: &str) -> Result<Vec<u8>, String> {
    hex::decode(text(v, k)?).map_err(|e| format!("case field {k}: {e}"))
}

/// On-CPU time of this thread in nanoseconds (scheduler accounting, ns resolution).
fn thread_cpu_ns() -> Result<u64, String> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").map_err(|e| format!("schedstat: {e}"))?;
    s.split_whitespace().next().and_then(|f| f.parse().ok()).ok_or("schedstat: unreadable".to_owned())
}

fn run(case: &Value) -> Result<Value, String> {
    let c = &case["collateral"];
    let collateral = QuoteCollateralV3 {
        pck_crl_issuer_chain: text(c, "pck_crl_issuer_chain")?,
        root_ca_crl: bytes(c, "root_ca_crl")?,
        pck_crl: bytes(c, "pck_crl")?,
        tcb_info_issuer_chain: text(c, "tcb_info_issuer_chain")?,
        tcb_info: text(c, "tcb_info")?,
        tcb_info_signature: bytes(c, "tcb_info_signature")?,
        qe_identity_issuer_chain: text(c, "qe_identity_issuer_chain")?,
        qe_identity: text(c, "qe_identity")?,
        qe_identity_signature: bytes(c, "qe_identity_signature")?,
        pck_certificate_chain: None,
    };
    let quotes: Vec<Vec<u8>> = case["quotes"]
        .as_array()
        .ok_or("case field quotes missing")?
        .iter()
        .map(|q| q.as_str().ok_or("quote is not a string".to_owned()).and_then(|h| hex::decode(h).map_err(|e| e.to_string())))
        .collect::<Result<_, _>>()?;
    if quotes.is_empty() {
        return Err("no quotes".into());
    }
    let root = match case.get("root").and_then(Value::as_str) {
        Some(root) => Some(hex::decode(root).map_err(|e| e.to_string())?),
        None => None,
    };
    let verifier = match &root {
        Some(root) => QuoteVerifier::new(root.clone()),
        None => QuoteVerifier::new_prod(),
    }
    .allow_debug(true);
    let at = case["at"].as_u64().ok_or("case field at missing")?;
    let seconds = case["seconds"].as_f64().ok_or("case field seconds missing")?;
    // Every quote must verify before anything is timed.
    let mut status = String::new();
    for q in &quotes {
        status = verifier.verify(q, &collateral, at).map_err(|e| format!("{e:#}"))?.status;
    }
    let deadline = Duration::from_secs_f64(seconds);
    let cpu0 = thread_cpu_ns()?;
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < deadline {
        for _ in 0..4 {
            let q = &quotes[(n as usize) % quotes.len()];
            std::hint::black_box(verifier.verify(std::hint::black_box(q), &collateral, at).map_err(|e| format!("{e:#}"))?);
            n += 1;
        }
    }
    let wall_ns = start.elapsed().as_nanos() as u64;
    let cpu_ns = thread_cpu_ns()? - cpu0;
    Ok(json!({ "status": status, "n": n, "cpu_ns": cpu_ns, "wall_ns": wall_ns }))
}

fn main() {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        if line.trim().is_empty() {
            continue;
        }
        let case: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        let mut answer = run(&case).unwrap_or_else(|e| json!({ "error": e }));
        answer["id"] = case["id"].clone();
        writeln!(out, "{answer}").expect("stdout");
        out.flush().expect("stdout");
    }
}
