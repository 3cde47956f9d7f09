//! The fake provincial platform for local runs: `cargo run -p songnuan-tests --bin
//! fake-province [addr]` (default 127.0.0.1:9500), then start the API with the settings it
//! prints. It accepts every record (one reference per idempotency key, however often sent) and
//! prints each request's keys and the references it gave (no personal data) until Ctrl-C or
//! SIGTERM.
use songnuan_tests::fake_province::FakeProvince;
use songnuan_tests::fake_server::{self, Args};

const USAGE: &str = "用法：fake-province [监听地址，默认 127.0.0.1:9500]";

#[tokio::main]
async fn main() {
    let addr = Args::parse("127.0.0.1:9500", USAGE).finish();
    let fake = FakeProvince::start_on(&addr).await;
    let mut shown = 0;
    let poll = || {
        let requests = fake.requests();
        let refs = fake.references();
        let lines = requests[shown..]
            .iter()
            .map(|r| {
                let keys: Vec<String> = r
                    .keys()
                    .into_iter()
                    .map(|k| match refs.get(&k) {
                        Some(reference) => format!("{k}→{reference}"),
                        None => k,
                    })
                    .collect();
                format!("HTTP {} {} 条：{}", r.status, keys.len(), keys.join(" "))
            })
            .collect();
        shown = requests.len();
        lines
    };
    fake_server::serve(
        "省级平台模拟",
        &fake.url,
        &fake.settings(),
        poll,
        fake_server::no_commands(),
    )
    .await;
}
