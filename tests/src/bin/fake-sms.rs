//! The fake SMS provider for local runs: `cargo run -p songnuan-tests --bin fake-sms [addr]`
//! (default 127.0.0.1:9400), then start the API with the settings it prints. It accepts every
//! send, answers queries from what it recorded, and prints each send (masked number) until
//! Ctrl-C or SIGTERM.
use songnuan_tests::fake_server::{self, Args};
use songnuan_tests::fake_sms::FakeSms;

const USAGE: &str = "用法：fake-sms [监听地址，默认 127.0.0.1:9400]";

#[tokio::main]
async fn main() {
    let addr = Args::parse("127.0.0.1:9400", USAGE).finish();
    let fake = FakeSms::start_on(&addr).await;
    let mut shown = 0;
    let poll = || {
        let sends = fake.sends();
        let lines = sends[shown..]
            .iter()
            .map(|s| {
                let masked = format!(
                    "{}****{}",
                    &s.phone[..3.min(s.phone.len())],
                    &s.phone[s.phone.len().saturating_sub(4)..]
                );
                format!("{} {} {}", s.out_id, masked, s.params)
            })
            .collect();
        shown = sends.len();
        lines
    };
    fake_server::serve(
        "短信服务商模拟",
        &fake.url,
        &fake.settings(),
        poll,
        fake_server::no_commands(),
    )
    .await;
}
