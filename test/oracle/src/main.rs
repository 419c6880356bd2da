//! Oracle runner: one JSON case per stdin line, one JSON verdict per stdout line.
//! Case: {"id", "quote": hex, "collateral": {QuoteCollateralV3 fields, binary ones as hex},
//!        "root": hex DER (absent = Intel SGX Root CA), "at": unix seconds}.
//! Verdict: {"id", "ok": true, "status", "advisory_ids"} or {"id", "ok": false, "error"}.
use dcap_qvl::{verify::QuoteVerifier, QuoteCollateralV3};
use serde_json::{json, Value};
use std::io::{BufRead, Write};

fn text(v: &Value, k: &str) -> Result<String, String> {
    v[k].as_str().map(str::to_owned).ok_or(format!("case field {k} missing"))
}
fn bytes(v: &Value, k: &str) -> Result<Vec<u8>, String> {
    hex::decode(text(v, k)?).map_err(|e| format!("case field {k}: {e}"))
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
    let verifier = match case.get("root").and_then(Value::as_str) {
        Some(root) => QuoteVerifier::new(hex::decode(root).map_err(|e| e.to_string())?),
        None => QuoteVerifier::new_prod(),
    }
    // Debug enclaves are a relying-party policy question, not a verification verdict (kubetee reports the flag).
    .allow_debug(true);
    let at = case["at"].as_u64().ok_or("case field at missing")?;
    let report = verifier.verify(&bytes(case, "quote")?, &collateral, at).map_err(|e| format!("{e:#}"))?;
    Ok(json!({ "ok": true, "status": report.status, "advisory_ids": report.advisory_ids }))
}

fn main() {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        if line.trim().is_empty() { continue; }
        let case: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        let mut verdict = run(&case).unwrap_or_else(|e| json!({ "ok": false, "error": e }));
        verdict["id"] = case["id"].clone();
        writeln!(out, "{verdict}").expect("stdout");
        out.flush().expect("stdout");
    }
}
