//! Entry points for the fuzz targets under `fuzz/` (docs/fuzzing.md): one function per
//! parser a stranger can reach, each taking raw bytes and feeding them to the daemon's own
//! code, so the targets stay one line and nothing is copied. Each must return, whatever
//! the bytes; a panic is a bug in the parser. `tests/it/fuzz_corpus.rs` replays the seed
//! corpora and every crash found through these same functions.

use std::path::Path;
use std::sync::{LazyLock, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tower::ServiceExt;

use crate::config::profile::{Profile, Table};
use crate::config::{Config, load_profiles};
use crate::devices::{binding, decode, modbus, nfc};
use crate::http::page::{ApiQuery, Page, Paged, Window};
use crate::http::{ApiError, ApiJson};

/// A target's entry point: any bytes in, nothing out, never a panic.
pub type Target = fn(&[u8]);

/// Every target, by the name of its file under `fuzz/fuzz_targets/`.
pub const TARGETS: [(&str, Target); 7] = [
    ("mqtt_payload", mqtt_payload),
    ("nfc_scan", nfc_scan),
    ("modbus_reply", modbus_reply),
    ("config", config),
    ("profile", profile),
    ("units_csv", units_csv),
    ("http_request", http_request),
];

/// A fixed "now", so a run does not depend on the clock.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default()
}

/// The built-in profiles, read once.
fn builtin() -> &'static [Profile] {
    static PROFILES: OnceLock<Vec<Profile>> = OnceLock::new();
    PROFILES.get_or_init(|| {
        let profiles = load_profiles(None).unwrap_or_default();
        profiles.values().map(|p| (**p).clone()).collect()
    })
}

/// An MQTT message as every built-in MQTT profile's bindings read it
/// (`binding::extract`: the payload parser, JSON paths, value maps).
pub fn mqtt_payload(data: &[u8]) {
    for p in builtin().iter().filter(|p| !p.mqtt_points.is_empty()) {
        let _ = binding::extract(&p.mqtt_points, data);
    }
}

/// An NFC reader's scan message (`nfc::parse_scan`).
pub fn nfc_scan(data: &[u8]) {
    let _ = nfc::parse_scan("reader_1", data, now());
}

/// What a Modbus TCP device sent back for a read: the first five bytes choose the request
/// (function code 1 to 4, transaction, register or bit count), the rest is the reply as
/// the client's frame reader takes it. A decoded reply is then decoded into values by
/// every built-in profile point of that table, as a poll does.
pub fn modbus_reply(data: &[u8]) {
    let [f, t0, t1, c0, c1, rest @ ..] = data else {
        return;
    };
    let function = f % 4 + 1;
    let transaction = u16::from_be_bytes([*t0, *t1]);
    let count = u16::from_be_bytes([*c0, *c1]);
    let Ok(Ok(response)) = modbus::tcp::reply(rest, transaction, 1, function, count) else {
        return;
    };
    let words: Vec<u16> = match response {
        tokio_modbus::Response::ReadHoldingRegisters(w)
        | tokio_modbus::Response::ReadInputRegisters(w) => w,
        _ => return,
    };
    for p in builtin().iter().flat_map(|p| &p.points) {
        if !matches!(p.table, Table::Coil | Table::Discrete) {
            let _ = decode::decode_words(p, &words);
        }
    }
}

/// A site config (`Config::parse`, with the built-in profiles).
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Config::parse(Path::new("site.toml"), text, None);
    }
}

/// A device profile (`Profile::parse`); a profile that loads then decodes a few register
/// patterns for each of its points, as a poll would.
pub fn profile(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(profile) = Profile::parse(Path::new("profile.toml"), text) else {
        return;
    };
    for p in &profile.points {
        for words in [[0u16; 4], [0xFFFF; 4], [0x7FC0, 0, 0, 0], [0x8000, 1, 2, 3]] {
            let _ = decode::decode_words(p, &words);
        }
        let _ = decode::decode_bit(p, true);
    }
}

/// A unit register CSV, as `sitewatch import units` and `POST /api/v1/units/import` take
/// it (`customers::import::parse_units`).
pub fn units_csv(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::customers::import::parse_units(text, now());
    }
}

/// An HTTP request through the API's query and body extractors (`ApiQuery`, `ApiJson`),
/// the paging checks (`Page`, `Window`) and the `Link` layer, driven through an axum
/// router with `oneshot`. The first line is the request target (`/list?limit=5`, or
/// `/alarms`, `/incidents`, `/json` for a POST), the rest the JSON body.
pub fn http_request(data: &[u8]) {
    let (target, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(uri) = Uri::try_from(target) else {
        return;
    };
    let method = if uri.path() == "/list" {
        Method::GET
    } else {
        Method::POST
    };
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()));
    let Ok(request) = request else {
        return;
    };
    let _ = runtime().block_on(http_router().clone().oneshot(request));
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
        #[allow(clippy::expect_used)] // fuzzing only: no runtime, nothing to fuzz
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime")
    });
    &RUNTIME
}

fn http_router() -> &'static Router {
    static ROUTER: LazyLock<Router> = LazyLock::new(|| {
        Router::new()
            .route("/list", get(list))
            .route(
                "/alarms",
                post(body::<sitewatch_core::alarms::AlarmCommand>),
            )
            .route(
                "/incidents",
                post(body::<sitewatch_core::incidents::NewIncident>),
            )
            .route("/json", post(body::<serde_json::Value>))
            .layer(axum::middleware::from_fn(crate::http::page::link_next))
    });
    &ROUTER
}

/// The parameters the API's lists take.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<i64>,
    offset: Option<i64>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    state: Option<String>,
    points: Option<String>,
}

async fn list(ApiQuery(q): ApiQuery<ListQuery>) -> Result<Response, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    let window = Window::new(q.from, q.to)?;
    let items: Vec<String> = [q.state, q.points].into_iter().flatten().collect();
    let _ = window.millis();
    let _ = window.contains(Some(now()));
    Ok(page.slice(items).into_response())
}

async fn body<T>(ApiJson(_): ApiJson<T>) -> Paged<()> {
    Paged::whole(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fuzz_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
    }

    fn files(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out: Vec<_> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
            .unwrap_or_default();
        out.sort();
        out
    }

    /// The seed corpora and every crash input once found and fixed (`fuzz/regressions/`),
    /// through the same entry points the fuzzer drives: a regression panics here, in the
    /// ordinary test run, without a fuzzing build.
    #[test]
    fn every_seed_and_every_fixed_crash_runs_through_its_target() {
        for (name, target) in TARGETS {
            let seeds = files(&fuzz_dir().join("corpus").join(name));
            assert!(!seeds.is_empty(), "target {name} has no seed corpus");
            let crashes = files(&fuzz_dir().join("regressions").join(name));
            for path in seeds.iter().chain(&crashes) {
                eprintln!("{name}: {}", path.display());
                target(&std::fs::read(path).unwrap());
            }
        }
    }

    #[test]
    fn every_target_has_its_file_under_fuzz() {
        let on_disk: Vec<String> = files(&fuzz_dir().join("fuzz_targets"))
            .iter()
            .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
            .collect();
        let mut listed: Vec<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
        listed.sort();
        assert_eq!(on_disk, listed);
    }

    #[test]
    fn seeds_reach_past_the_parsers_first_checks() {
        // A seed that the parser refuses at once would teach the fuzzer nothing.
        let seed = |target: &str, file: &str| {
            std::fs::read(fuzz_dir().join("corpus").join(target).join(file)).unwrap()
        };
        let text = String::from_utf8(seed("config", "demo_site.toml")).unwrap();
        assert!(Config::parse(Path::new("site.toml"), &text, None).is_ok());
        let text = String::from_utf8(seed("units_csv", "demo_head.csv")).unwrap();
        assert!(crate::customers::import::parse_units(&text, now()).is_ok());
        let reply = seed("modbus_reply", "holding.bin");
        assert!(matches!(
            modbus::tcp::reply(&reply[5..], 9, 1, 3, 2),
            Ok(Ok(tokio_modbus::Response::ReadHoldingRegisters(_)))
        ));
        assert!(nfc::parse_scan("r", &seed("nfc_scan", "json.json"), now()).is_ok());
    }
}
