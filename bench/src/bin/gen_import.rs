//! Writes a large recipient import file (xlsx, Chinese headers) for the import benchmark.
//!
//!   cargo run --release -p songnuan-bench --bin gen_import -- --rows 100000 --org 富民县总工会 out.xlsx
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_xlsxwriter::Workbook;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 100_000)]
    rows: u32,
    /// The nominating organisation's name (must exist).
    #[arg(long)]
    org: String,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    out: std::path::PathBuf,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let mut rng = StdRng::seed_from_u64(a.seed);
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let headers = [
        "类别编码",
        "类型",
        "姓名",
        "身份证号",
        "手机号",
        "开户行",
        "银行账号",
        "推荐单位",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    let cats = [
        "HARDSHIP",
        "COUNTY_HARDSHIP",
        "INJURED",
        "MODEL_WORKER",
        "NEW_EMPLOYMENT",
        "FRONTLINE",
    ];
    for i in 0..a.rows {
        let r = i + 1;
        let region = 530100 + (i / 1000 % 99) * 100 + 24;
        let row = [
            cats[rng.gen_range(0..cats.len())].to_string(),
            "个人".to_string(),
            songnuan_bench::name(&mut rng),
            songnuan_bench::id_number(&mut rng, region, i % 1000),
            songnuan_bench::phone(&mut rng),
            songnuan_bench::BANKS[rng.gen_range(0..songnuan_bench::BANKS.len())].to_string(),
            songnuan_bench::bank_account(&mut rng),
            a.org.clone(),
        ];
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r, c as u16, v)?;
        }
    }
    wb.save(&a.out)?;
    println!("wrote {} rows to {}", a.rows, a.out.display());
    Ok(())
}
