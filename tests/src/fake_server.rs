//! What the fake-* bins (`fake-sms`, `fake-province`, `fake-robot`) share, so each bin is only
//! its fake and how it prints what it received: the command line (`[addr] [--flag value]…`),
//! the banner with the `export …` lines that point the API at the fake, a console that prints
//! new activity and takes commands typed on stdin, and a clean stop on Ctrl-C or SIGTERM (so
//! the bins can be run under a supervisor or a script's `kill`).
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

/// A bin's command line: an optional listen address, then `--name value` flags.
pub struct Args {
    pub addr: String,
    flags: BTreeMap<String, String>,
    usage: String,
}

impl Args {
    /// Reads the process's arguments; `default_addr` when no address is given. `--help`, an
    /// address that is not `host:port` or a flag without a value print `usage` and exit.
    pub fn parse(default_addr: &str, usage: &str) -> Args {
        Args::from_iter(std::env::args().skip(1), default_addr, usage).unwrap_or_else(|e| {
            if !e.is_empty() {
                eprintln!("{e}");
            }
            eprintln!("{usage}");
            std::process::exit(if e.is_empty() { 0 } else { 2 });
        })
    }

    /// `parse` on given arguments; `Err("")` for `--help`.
    pub fn from_iter(
        args: impl IntoIterator<Item = String>,
        default_addr: &str,
        usage: &str,
    ) -> Result<Args, String> {
        let mut addr = None;
        let mut flags = BTreeMap::new();
        let mut args = args.into_iter();
        while let Some(a) = args.next() {
            if a == "--help" || a == "-h" {
                return Err(String::new());
            } else if let Some(name) = a.strip_prefix("--") {
                let value = args.next().ok_or(format!("--{name} 需要一个值"))?;
                flags.insert(name.to_string(), value);
            } else if addr.is_none() {
                // host:port (a name such as localhost is bound as the fakes always did).
                if a.rsplit_once(':')
                    .is_none_or(|(_, port)| port.parse::<u16>().is_err())
                {
                    return Err(format!("监听地址应为 地址:端口，例如 {default_addr}：{a}"));
                }
                addr = Some(a);
            } else {
                return Err(format!("多余的参数：{a}"));
            }
        }
        Ok(Args {
            addr: addr.unwrap_or_else(|| default_addr.to_string()),
            flags,
            usage: usage.to_string(),
        })
    }

    /// The value of `--name`, if given; prints the usage and exits when it does not parse.
    pub fn flag<T: FromStr>(&mut self, name: &str) -> Option<T> {
        let v = self.flags.remove(name)?;
        match v.parse() {
            Ok(t) => Some(t),
            Err(_) => self.exit(&format!("--{name} 的值无效：{v}")),
        }
    }

    /// The listen address, once every flag was read: an unknown flag prints the usage and
    /// exits (a mistyped `--fial 3` must not start a fake that silently accepts everything).
    pub fn finish(self) -> String {
        if let Some(name) = self.flags.keys().next() {
            self.exit(&format!("未知参数：--{name}"));
        }
        self.addr
    }

    fn exit(&self, why: &str) -> ! {
        eprintln!("{why}\n{}", self.usage);
        std::process::exit(2)
    }
}

/// What a bin's console does with a line typed on stdin: the reply to print.
pub type Command<'a> = Box<dyn FnMut(&str) -> Result<String, String> + 'a>;

/// For a fake that takes no commands.
pub fn no_commands<'a>() -> Command<'a> {
    Box::new(|_| Err("此模拟服务不接受命令".into()))
}

/// Prints `title` and `url` and the settings as `export` lines, then every half second the
/// lines `poll` returns (what the fake received since its last call) and the reply to each
/// command typed on stdin, until Ctrl-C or SIGTERM.
pub async fn serve(
    title: &str,
    url: &str,
    settings: &[(&'static str, String)],
    mut poll: impl FnMut() -> Vec<String>,
    mut command: Command<'_>,
) {
    println!("{title}已启动：{url}");
    for (k, v) in settings {
        println!("export {k}={v}");
    }
    let mut lines = stdin_lines();
    let mut stdin_open = true;
    let stop = domain::shutdown::signal();
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tick.tick() => {
                for line in poll() {
                    println!("{line}");
                }
            }
            line = lines.recv(), if stdin_open => match line {
                Some(line) if line.trim().is_empty() => {}
                Some(line) => match command(line.trim()) {
                    Ok(reply) => println!("{reply}"),
                    Err(e) => eprintln!("{e}"),
                },
                // stdin closed (run in the background): serve on without a console.
                None => stdin_open = false,
            },
        }
    }
    for line in poll() {
        println!("{line}");
    }
    println!("{title}已停止");
}

/// Lines typed on stdin. Read on a thread of their own: tokio's stdin reads on a blocking task
/// that would hold the runtime's shutdown until the next Enter; a plain thread blocked on
/// stdin does not keep the process alive once `main` returns.
fn stdin_lines() -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Result<Args, String> {
        Args::from_iter(a.iter().map(|s| s.to_string()), "127.0.0.1:9600", "usage")
    }

    #[test]
    fn the_command_line_takes_an_address_and_flags() {
        assert_eq!(args(&[]).unwrap().finish(), "127.0.0.1:9600");
        let mut a = args(&["0.0.0.0:9700", "--fail", "3"]).unwrap();
        assert_eq!(a.flag::<u64>("fail"), Some(3));
        assert_eq!(a.flag::<u64>("refuse"), None);
        assert_eq!(a.finish(), "0.0.0.0:9700");
        assert_eq!(args(&["--help"]).err().as_deref(), Some(""));
        assert_eq!(args(&["localhost:9601"]).unwrap().finish(), "localhost:9601");
        assert!(args(&["localhost"]).is_err(), "no port");
        assert!(args(&["--fail"]).is_err(), "no value");
        assert!(args(&["127.0.0.1:1", "127.0.0.1:2"]).is_err(), "two addresses");
    }
}
