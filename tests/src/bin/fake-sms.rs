//! The fake SMS provider for local runs: `cargo run -p songnuan-tests --bin fake-sms [addr]`
//! (default 127.0.0.1:9400), then start the API with the settings it prints. It accepts every
//! send, answers queries from what it recorded, and prints each send (masked number).
use songnuan_tests::fake_sms::FakeSms;
use std::time::Duration;

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9400".into());
    let fake = FakeSms::start_on(&addr).await;
    println!("短信服务商模拟已启动：{}", fake.url);
    for (k, v) in fake.settings() {
        println!("export {k}={v}");
    }
    let mut shown = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let sends = fake.sends();
        for s in &sends[shown..] {
            let masked = format!(
                "{}****{}",
                &s.phone[..3.min(s.phone.len())],
                &s.phone[s.phone.len().saturating_sub(4)..]
            );
            println!("{} {} {}", s.out_id, masked, s.params);
        }
        shown = sends.len();
    }
}
