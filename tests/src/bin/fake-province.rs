//! The fake provincial platform for local runs: `cargo run -p songnuan-tests --bin
//! fake-province [addr]` (default 127.0.0.1:9500), then start the API with the settings it
//! prints. It accepts every record (one reference per idempotency key, however often sent) and
//! prints each request's keys and the references it gave (no personal data).
use songnuan_tests::fake_province::FakeProvince;
use std::time::Duration;

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9500".into());
    let fake = FakeProvince::start_on(&addr).await;
    println!("省级平台模拟已启动：{}", fake.url);
    for (k, v) in fake.settings() {
        println!("export {k}={v}");
    }
    let mut shown = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let requests = fake.requests();
        let refs = fake.references();
        for r in &requests[shown..] {
            let keys: Vec<String> = r
                .keys()
                .into_iter()
                .map(|k| match refs.get(&k) {
                    Some(reference) => format!("{k}→{reference}"),
                    None => k,
                })
                .collect();
            println!("HTTP {} {} 条：{}", r.status, keys.len(), keys.join(" "));
        }
        shown = requests.len();
    }
}
