//! The fake group robot for local runs: `cargo run -p songnuan-tests --bin fake-robot [addr]
//! [flags]` (default 127.0.0.1:9600), then start the API with the setting it prints. It takes
//! both robots' text messages (企业微信 `/cgi-bin/webhook/send?key=…`, 钉钉
//! `/robot/send?access_token=…`) and prints each request: what it answered and the message with
//! the users this robot would @-mention. Flags set what the first requests get, commands typed
//! while it runs set what the next ones get, so a reminder job's retries can be watched:
//!
//! - `--fail N` / `fail N`: HTTP 500;
//! - `--refuse N` / `refuse N`: HTTP 200 with the robot's rate-limit `errcode`;
//! - `--stall N` / `stall N [ms]`: no answer for `--stall-ms` (default 60000, past the API's
//!   10 s timeout), then HTTP 504, the message not taken;
//! - `--slow-ms MS` / `slow MS`: every other request taken at once, answered after MS (past the
//!   API's timeout: the message reached the group, the API never learns it); `slow 0` undoes it;
//! - `--shape dingtalk`: prints the 钉钉 address as `SONGNUAN_ROBOT_WEBHOOK` (default 企业微信).
use songnuan_tests::fake_robot::{FakeRobot, Robot};
use songnuan_tests::fake_server::{self, Args, Command};
use std::time::Duration;

const USAGE: &str = "用法：fake-robot [监听地址，默认 127.0.0.1:9600] [--fail N] [--refuse N] \
[--stall N] [--stall-ms 毫秒] [--slow-ms 毫秒] [--shape wecom|dingtalk]
运行中可输入命令：fail N | refuse N | stall N [毫秒] | slow 毫秒 | help";

const COMMANDS: &str = "fail N：之后 N 次请求返回 HTTP 500
refuse N：之后 N 次请求返回限流 errcode
stall N [毫秒]：之后 N 次请求不收消息，挂起（默认 60000 毫秒）后返回 HTTP 504
slow 毫秒：其余请求收下消息，延迟后才应答（0：立即应答）";

#[tokio::main]
async fn main() {
    let mut args = Args::parse("127.0.0.1:9600", USAGE);
    let fail: usize = args.flag("fail").unwrap_or(0);
    let refuse: usize = args.flag("refuse").unwrap_or(0);
    let stall: usize = args.flag("stall").unwrap_or(0);
    let stall_ms: u64 = args.flag("stall-ms").unwrap_or(60_000);
    let slow_ms: u64 = args.flag("slow-ms").unwrap_or(0);
    let shape: String = args.flag("shape").unwrap_or_else(|| "wecom".into());
    let addr = args.finish();
    let fake = FakeRobot::start_on(&addr).await;
    fake.fail_next(fail);
    fake.refuse_next(refuse);
    fake.stall_next(stall, Duration::from_millis(stall_ms));
    fake.answer_after(Duration::from_millis(slow_ms));
    let settings = match shape.as_str() {
        "wecom" => fake.settings(),
        "dingtalk" => vec![("SONGNUAN_ROBOT_WEBHOOK", fake.dingtalk_url())],
        other => {
            eprintln!("--shape 应为 wecom 或 dingtalk：{other}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let mut shown = 0;
    let poll = || {
        let requests = fake.requests();
        let lines = requests[shown..]
            .iter()
            .map(|r| {
                let robot = match r.robot {
                    Robot::WeCom => "企业微信",
                    Robot::DingTalk => "钉钉",
                };
                let answer = match r.errcode {
                    Some(code) => format!("HTTP {} errcode {code}", r.status),
                    None => format!("HTTP {}", r.status),
                };
                let taken = if r.taken { "已收" } else { "未收" };
                format!("{robot} {answer} {taken}（{:?}）：{}", r.behaviour, r.body)
            })
            .collect();
        shown = requests.len();
        lines
    };
    let commands: Command = Box::new(|line: &str| command(&fake, line));
    fake_server::serve("群机器人模拟", &fake.base, &settings, poll, commands).await;
}

/// One console command (see `COMMANDS`): what it changed.
fn command(fake: &FakeRobot, line: &str) -> Result<String, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let num = |i: usize, default: Option<u64>| -> Result<u64, String> {
        match words.get(i) {
            Some(w) => w.parse().map_err(|_| format!("应为整数：{w}\n{COMMANDS}")),
            None => default.ok_or(format!("缺少参数\n{COMMANDS}")),
        }
    };
    match words.first().copied() {
        Some("fail") => {
            let n = num(1, None)?;
            fake.fail_next(n as usize);
            Ok(format!("之后 {n} 次请求返回 HTTP 500"))
        }
        Some("refuse") => {
            let n = num(1, None)?;
            fake.refuse_next(n as usize);
            Ok(format!("之后 {n} 次请求返回限流 errcode"))
        }
        Some("stall") => {
            let (n, ms) = (num(1, None)?, num(2, Some(60_000))?);
            fake.stall_next(n as usize, Duration::from_millis(ms));
            Ok(format!("之后 {n} 次请求挂起 {ms} 毫秒后返回 HTTP 504"))
        }
        Some("slow") => {
            let ms = num(1, None)?;
            fake.answer_after(Duration::from_millis(ms));
            Ok(format!("其余请求延迟 {ms} 毫秒应答"))
        }
        Some("help") => Ok(COMMANDS.into()),
        _ => Err(format!("未知命令：{line}\n{COMMANDS}")),
    }
}
