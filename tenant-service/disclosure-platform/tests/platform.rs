//! The disclosure platform on the real platform: a county agency publishes through the
//! tenant service, the outbox relays to NATS, JetStream sources the message up to the
//! province stream, and the platform binary indexes it; Kubernetes supplies the names.
//! A real Chromium (Debian `chromium` + `chromium-driver`) looks at the pages; screenshots
//! are kept under the test's output folder (printed).

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{DISPLAY_NAME, Portal, Rig};

/// What must never reach the portal: the ID number, phone, address and the third person.
const PERSONAL: [&str; 4] = ["21010219900101123X", "13812345678", "南京街", "李小明"];

fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).unwrap()[1..].to_string()
}

async fn total(rig: &Rig, portal: &Portal, query: &str) -> anyhow::Result<u64> {
    let (s, v) = rig
        .get_json(&portal.url(&format!("/api/v1/decisions?{query}")))
        .await?;
    anyhow::ensure!(s == 200, "{query}: {s} {v}");
    Ok(v["total"].as_u64().unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread")]
async fn county_publication_reaches_the_province_portal() -> anyhow::Result<()> {
    let rig = Rig::new("portal").await?;
    let index = tempfile::tempdir()?;
    let portal = Portal::start(&rig, index.path())?;
    println!("portal output: {}", rig.out_dir.display());

    let doc = format!("铁县市监罚〔2026〕{}号", rand::random::<u16>());
    let id = rig.publish(&doc).await?;
    let took = Rig::eventually(
        "found by a two-character word",
        Duration::from_secs(10),
        || async { Ok(total(&rig, &portal, &format!("q={}", enc("过期"))).await? == 1) },
    )
    .await?;
    println!("visible on the province portal after {took:?}");
    for query in [
        format!("agency={}", enc(DISPLAY_NAME)),
        format!("q={}", enc(DISPLAY_NAME)),
        format!("documentNumber={}", enc(&doc)),
        format!("q={}", enc(&doc)),
        format!("city={}&county={}&category=penalty", rig.city, rig.county),
    ] {
        assert_eq!(total(&rig, &portal, &query).await?, 1, "{query}");
    }
    let (_, v) = rig
        .get_json(&portal.url(&format!("/api/v1/decisions/{id}")))
        .await?;
    assert_eq!(v["agency"]["displayName"], DISPLAY_NAME);
    assert_eq!(
        (v["city"]["name"].as_str(), v["county"]["name"].as_str()),
        (Some("铁岭市"), Some("铁岭县"))
    );
    assert_eq!(v["category"]["name"], "行政处罚");
    let facts = v["facts"].as_str().unwrap_or_default();
    assert!(
        facts.contains("138****5678") && facts.contains("李**"),
        "redacted: {facts}"
    );
    let (_, page) = rig
        .get_text(&portal.url(&format!("/?q={}", enc("过期"))))
        .await?;
    let (_, detail) = rig
        .get_text(&portal.url(&format!("/decisions/{id}")))
        .await?;
    for text in [&v.to_string(), &page, &detail] {
        for secret in PERSONAL {
            assert!(
                !text.contains(secret),
                "{secret} reached the portal: {text}"
            );
        }
    }
    assert!(
        page.contains(DISPLAY_NAME) && page.contains("铁岭市 铁岭县") && page.contains("行政处罚")
    );
    assert_eq!(
        total(&rig, &portal, &format!("q={}", enc("南京街"))).await?,
        0,
        "hidden text is not searchable"
    );

    // A real browser: search through the form, open the result.
    browse(&rig, &portal, &doc).await?;

    // Bad input: 400 naming the parameter; the rate limit answers 429.
    for (query, param) in [
        ("from=2026-13-01", "from"),
        ("category=bogus", "category"),
        ("county=abc", "county"),
    ] {
        let (s, v) = rig
            .get_json(&portal.url(&format!("/api/v1/decisions?{query}")))
            .await?;
        assert_eq!((s, v["parameter"].as_str()), (400, Some(param)), "{v}");
    }
    let (s, html) = rig
        .get_text(&portal.url(&format!("/?q={}", enc(&"罚".repeat(101)))))
        .await?;
    assert_eq!(s, 400);
    assert!(html.contains("参数 q 无效"), "{html}");
    let mut statuses = Vec::new();
    let started = std::time::Instant::now();
    for _ in 0..150 {
        let r = rig
            .http
            .get(portal.url("/api/v1/decisions"))
            .header("x-forwarded-for", "198.51.100.7")
            .send()
            .await?;
        statuses.push(r.status().as_u16());
    }
    assert!(statuses.contains(&429), "no 429 in {statuses:?}");
    // The burst of 100, plus what 5/s refilled meanwhile.
    let served = statuses.iter().filter(|s| **s == 200).count();
    let refilled = (started.elapsed().as_secs_f64() * 5.0).ceil() as usize + 1;
    assert!((100..=100 + refilled).contains(&served), "{served} served");
    let (s, _) = rig.get_text(&portal.url("/")).await?;
    assert_eq!(s, 200, "other clients are not limited");

    // Withdrawal: gone from the results, the notice with its reason stays.
    rig.withdraw(&id, "经行政复议决定撤销").await?;
    Rig::eventually("withdrawal applied", Duration::from_secs(10), || async {
        Ok(total(&rig, &portal, &format!("q={}", enc("过期"))).await? == 0)
    })
    .await?;
    let (s, html) = rig
        .get_text(&portal.url(&format!("/decisions/{id}")))
        .await?;
    assert_eq!(s, 200);
    assert!(
        html.contains("撤回公告") && html.contains("经行政复议决定撤销"),
        "{html}"
    );
    assert!(!html.contains("销售过期食品"), "only the notice is shown");
    let (_, v) = rig.get_json(&portal.url("/api/v1/withdrawals")).await?;
    assert_eq!(v["items"][0]["id"], Value::String(id.clone()));

    // Operations.
    let (s, ready) = rig.get_text(&portal.admin_url("/ready")).await?;
    assert_eq!(s, 200, "{ready}");
    let (_, metrics) = rig.get_text(&portal.admin_url("/metrics")).await?;
    for name in [
        "sanxiang_disclosure_applied_sequence",
        "sanxiang_disclosure_lag_messages",
        "sanxiang_disclosure_lag_seconds",
        "sanxiang_disclosure_documents",
        "sanxiang_disclosure_query_duration_seconds_bucket",
        "sanxiang_disclosure_rate_limited_total",
    ] {
        assert!(metrics.contains(name), "{name} missing");
    }
    drop(portal);
    rig.cleanup().await
}

/// Drives Chromium through the portal; keeps screenshots.
async fn browse(rig: &Rig, portal: &Portal, doc: &str) -> anyhow::Result<()> {
    use fantoccini::{ClientBuilder, Locator};
    let port = support::free_port()?;
    let mut driver = std::process::Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let result = async {
        Rig::eventually("chromedriver listening", Duration::from_secs(20), || async {
            Ok(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok())
        })
        .await?;
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({"binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1400",
                         "--lang=zh-CN", format!("--user-data-dir={}", rig.out_dir.join("chromium").display())]}),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await?;
        let run = async {
            client.goto(&portal.url("/")).await?;
            let q = client.find(Locator::Css("input#q")).await?;
            q.send_keys("过期").await?;
            client.find(Locator::Css("button[type=submit]")).await?.click().await?;
            // The home page may list the same decision among the newest: look for the link
            // only once the browser is on the results page, or the element found may belong
            // to the page being left (a stale element when clicked).
            wait_for_url(&client, |u| u.contains("q=")).await?;
            let link = client
                .wait()
                .for_element(Locator::LinkText(doc))
                .await?;
            let results = client.find(Locator::Css("main")).await?.text().await?;
            anyhow::ensure!(results.contains(DISPLAY_NAME), "results: {results}");
            std::fs::write(rig.out_dir.join("search.png"), client.screenshot().await?)?;
            let results_url = client.current_url().await?.to_string();
            link.click().await?;
            wait_for_url(&client, |u| u != results_url).await?;
            let h1 = client.wait().for_element(Locator::Css("h1")).await?.text().await?;
            anyhow::ensure!(h1 == doc, "detail heading {h1}");
            let text = client.find(Locator::Css("main")).await?.text().await?;
            anyhow::ensure!(text.contains("138****5678") && !text.contains("13812345678"), "{text}");
            std::fs::write(rig.out_dir.join("detail.png"), client.screenshot().await?)?;
            println!("screenshots: {}", rig.out_dir.display());
            Ok(())
        }
        .await;
        client.close().await?;
        run
    }
    .await;
    let _ = driver.kill();
    let _ = driver.wait();
    result
}

/// Waits (up to 20 s) until the browser's URL satisfies `done`.
async fn wait_for_url(
    client: &fantoccini::Client,
    done: impl Fn(&str) -> bool,
) -> anyhow::Result<()> {
    sanxiang_testkit::wait::eventually(
        "the browser's next page",
        Duration::from_secs(20),
        || async {
            let url = client.current_url().await?;
            anyhow::ensure!(done(url.as_str()), "the browser stayed on {url}");
            Ok(true)
        },
    )
    .await
}

/// Every listed decision of the portal, by id (pages followed to the end).
async fn listed_ids(rig: &Rig, portal: &Portal) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let (s, v) = rig
            .get_json(&portal.url(&format!("/api/v1/decisions?limit=7{cursor}")))
            .await?;
        anyhow::ensure!(s == 200, "{v}");
        ids.extend(
            v["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["id"].as_str().map(String::from)),
        );
        match v["next"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return Ok(ids),
        }
    }
}

fn dump(rig: &Rig, dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let out = std::process::Command::new(support::binary())
        .args(
            rig.common_args(dir)
                .into_iter()
                .filter(|a| !a.starts_with("--directory")),
        )
        .arg("dump")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?
        .lines()
        .map(String::from)
        .collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn restarts_and_nats_outages_lose_and_double_nothing_and_rebuild_matches()
-> anyhow::Result<()> {
    let mut rig = Rig::new("portal-outage").await?;
    let index = tempfile::tempdir()?;
    let mut portal = Portal::start(&rig, index.path())?;
    let mut published = Vec::new();
    let doc = |i: usize| format!("铁县市监罚〔2026〕{i}号");
    for i in 0..5 {
        published.push(rig.publish(&doc(i)).await?);
    }
    let expect = |n: usize| n;
    Rig::eventually("first five", Duration::from_secs(15), || async {
        Ok(listed_ids(&rig, &portal).await?.len() == expect(5))
    })
    .await?;

    // 1. The platform crashes; agencies keep publishing; it resumes from its position.
    portal.kill();
    for i in 5..9 {
        published.push(rig.publish(&doc(i)).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    portal.up(&rig)?;
    Rig::eventually("after the restart", Duration::from_secs(20), || async {
        Ok(listed_ids(&rig, &portal).await?.len() == 9)
    })
    .await?;

    // 2. NATS goes away: the portal keeps serving what it has; the outbox holds new
    //    publications; when NATS is back everything arrives once.
    rig.nats.down();
    for i in 9..12 {
        published.push(rig.publish(&doc(i)).await?);
    }
    rig.withdraw(&published[0], "决定被依法撤销").await?;
    let (s, _) = rig.get_text(&portal.url("/")).await?;
    assert_eq!(s, 200, "the portal serves during the NATS outage");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(listed_ids(&rig, &portal).await?.len(), 9);
    rig.nats.up()?;
    Rig::eventually("after the NATS outage", Duration::from_secs(60), || async {
        Ok(listed_ids(&rig, &portal).await?.len() == 11)
    })
    .await?;
    let mut listed = listed_ids(&rig, &portal).await?;
    listed.sort();
    let mut want: Vec<String> = published[1..].to_vec();
    want.sort();
    assert_eq!(
        listed, want,
        "every publication once, the withdrawn one hidden"
    );
    Rig::eventually("ready", Duration::from_secs(20), || async {
        Ok(rig.get_text(&portal.admin_url("/ready")).await?.0 == 200)
    })
    .await?;

    // 3. rebuild replays the stream into a new index equal to the live one.
    let rebuilt = tempfile::tempdir()?;
    let into = rebuilt.path().join("index");
    let out = std::process::Command::new(support::binary())
        .env("KUBECONFIG", rig.platform.kubeconfig())
        .args(rig.common_args(index.path()))
        .args(["rebuild", "--into"])
        .arg(&into)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "rebuild: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("rebuild: {}", String::from_utf8_lossy(&out.stdout));
    portal.kill(); // the live index, committed, read by `dump`
    let (live, again) = (dump(&rig, index.path())?, dump(&rig, &into)?);
    assert_eq!(
        live.len(),
        14,
        "position line + the harness's matter list + 12 decisions: {live:#?}"
    );
    let decisions = live
        .iter()
        .filter(|l| l.contains(r#""kind":"decision""#))
        .count();
    assert_eq!(decisions, 12, "{live:#?}");
    assert_eq!(live, again, "the rebuilt index equals the live one");
    drop(portal);
    rig.cleanup().await
}
