//! The HTTPS recipe of docs/service.md works: nginx, run with the doc's `server` blocks
//! as written (only ports, certificate and upstream changed), in front of a daemon that
//! trusts it, over TLS with a self-signed certificate. Through it a sign-in works, the
//! audit names the client nginx saw (not an address the client claimed) and the live
//! stream delivers an alarm while it is still open.

use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sitewatch::access::Role;

use crate::auth_walk::user;
use crate::helpers::{Db, eventually, free_port, fresh_db, spawn_app_on, test_config, test_plant};

const WAIT: Duration = Duration::from_secs(10);

/// The client's own address: another loopback address than nginx's, so that what the
/// audit records can only have come from nginx's `$remote_addr`.
const CLIENT: &str = "127.0.0.2";

/// The ```nginx block of docs/service.md.
fn recipe() -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/service.md"))
        .expect("docs/service.md");
    let block = doc.split("```nginx\n").nth(1).expect("an nginx block");
    block.split("```").next().expect("closed block").to_owned()
}

/// The recipe with this test's ports, certificate and upstream put in.
fn site_conf(recipe: &str, tls: u16, plain: u16, dir: &Path, upstream: &str) -> String {
    let swaps = [
        ("listen 443 ssl;", format!("listen 127.0.0.1:{tls} ssl;")),
        ("listen 80;", format!("listen 127.0.0.1:{plain};")),
        (
            "/etc/ssl/ops.example.cn.pem",
            format!("{}/cert.pem", dir.display()),
        ),
        (
            "/etc/ssl/ops.example.cn.key",
            format!("{}/key.pem", dir.display()),
        ),
        ("http://127.0.0.1:8080", format!("http://{upstream}")),
    ];
    let mut conf = recipe.to_owned();
    for (from, to) in swaps {
        assert!(conf.contains(from), "the recipe has `{from}`");
        conf = conf.replace(from, &to);
    }
    conf
}

/// A whole nginx.conf around the site's blocks, with every file nginx writes in `dir`.
fn nginx_conf(site: &str, dir: &Path) -> String {
    let d = dir.display();
    format!(
        "master_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n\
         access_log {d}/access.log;\nclient_body_temp_path {d}/body;\n\
         proxy_temp_path {d}/proxy;\nfastcgi_temp_path {d}/fastcgi;\n\
         uwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n{site}\n}}\n"
    )
}

fn self_signed(dir: &Path) {
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=ops.example.cn", "-keyout"])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// nginx in the foreground, one process (`master_process off`, so that killing it
/// leaves no worker behind); stopped when the test ends, passing or not.
struct Nginx(Child);

impl Nginx {
    fn start(conf: &Path) -> Nginx {
        let child = Command::new("nginx")
            .arg("-c")
            .arg(conf)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx runs (scripts/test installs it)");
        Nginx(child)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A browser on `from` that trusts the test's certificate and follows no redirect.
fn browser(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(from.parse::<IpAddr>().expect("ip"))
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The stream's text as it arrives, read by a task of its own.
async fn listen(resp: reqwest::Response) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    let mut resp = resp;
    tokio::spawn(async move {
        while let Ok(Some(chunk)) = resp.chunk().await {
            sink.lock()
                .expect("lock")
                .push_str(&String::from_utf8_lossy(&chunk));
        }
    });
    text
}

/// A log-in as `li` claiming, in `X-Forwarded-For`, to come from 203.0.113.9.
async fn sign_in(client: &reqwest::Client, base: &str) -> reqwest::Response {
    client
        .post(format!("{base}/login"))
        .header("x-forwarded-for", "203.0.113.9")
        .form(&[("username", "li"), ("password", "li-password")])
        .send()
        .await
        .expect("log-in through nginx")
}

#[tokio::test]
async fn the_nginx_recipe_signs_in_names_the_client_and_streams_live() {
    let db = fresh_db(Db::Sqlite).await;
    let sim = test_plant(&db.url).await;
    let mut config = test_config(&sim.addr().to_string(), &db.url);
    config.http.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let app = spawn_app_on(db, sim, config).await;
    user(&app, "li", Role::DutyEngineer, "li-password").await;

    let dir = tempfile::tempdir().expect("dir");
    self_signed(dir.path());
    let (tls, plain) = (free_port(), free_port());
    let upstream = app.base.trim_start_matches("http://");
    let site = site_conf(&recipe(), tls, plain, dir.path(), upstream);
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, nginx_conf(&site, dir.path())).expect("write conf");
    let _nginx = Nginx::start(&conf);
    let base = format!("https://127.0.0.1:{tls}");
    let client = browser(CLIENT);

    // Plain HTTP is sent to HTTPS.
    let plain_resp = eventually("nginx listens", WAIT, || async {
        client
            .get(format!("http://127.0.0.1:{plain}/"))
            .send()
            .await
            .ok()
    })
    .await;
    assert_eq!(plain_resp.status(), 301);
    let to = plain_resp.headers()["location"].to_str().expect("ascii");
    assert!(to.starts_with("https://"), "{to}");

    // Sign-ins through the proxy claiming to be someone else, from a client's address
    // and from the proxy's own host (which sitewatch trusts: only nginx replacing the
    // header, rather than appending to it, keeps that one from naming any address).
    assert_eq!(sign_in(&browser("127.0.0.1"), &base).await.status(), 303);
    let resp = sign_in(&client, &base).await;
    assert_eq!(resp.status(), 303);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("cookie")
        .to_owned();
    let filter = sitewatch::store::AuditFilter {
        action: Some("login".into()),
        limit: 10,
        ..Default::default()
    };
    let rows = app.store().await.audit(&filter).await.expect("audit");
    let mut ips: Vec<&str> = rows.iter().map(|r| r.ip.as_str()).collect();
    ips.sort_unstable();
    assert_eq!(
        ips,
        ["127.0.0.1", CLIENT],
        "the audit names the addresses nginx saw, never the one claimed"
    );

    // The live stream, alarms only: nothing else would push a buffered stream along.
    let open = client
        .get(format!("{base}/api/v1/stream?kinds=alarm"))
        .header("cookie", &cookie)
        .send();
    let resp = tokio::time::timeout(WAIT, open)
        .await
        .expect("the stream's headers through nginx at once")
        .expect("stream through nginx");
    assert_eq!(resp.status(), 200);
    let text = listen(resp).await;
    app.sim().set(4, "zone2_alarm", 1.0);
    eventually("the alarm through nginx", WAIT, || async {
        let t = text.lock().expect("lock");
        t.lines()
            .any(|l| l.starts_with("data:") && l.contains("zone2_alarm"))
            .then_some(())
    })
    .await;
}
