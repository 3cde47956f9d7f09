//! Writes an xlsx whose shared strings table holds `--strings` empty strings (15 million by
//! default: ~200 KB on the wire, ~195 MB inflated, far more in memory once loaded) in front of a
//! valid sheet of one row: the hostile upload of issue 13.
//!
//!   cargo run --release -p songnuan-bench --bin gen_shared_strings -- --org 富民县总工会 out.xlsx
use clap::Parser;
use std::io::Write;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 15_000_000)]
    strings: u64,
    /// The `uniqueCount` the table claims (default: the truth).
    #[arg(long)]
    claim: Option<u64>,
    /// The nominating organisation's name of the one row.
    #[arg(long)]
    org: String,
    out: std::path::PathBuf,
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;
const RELS: &str = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let mut z = zip::ZipWriter::new(std::fs::File::create(&a.out)?);
    let opts = zip::write::SimpleFileOptions::default();
    for (name, body) in [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", RELS),
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
    ] {
        z.start_file(name, opts)?;
        z.write_all(body.as_bytes())?;
    }
    let cell = |r: &str, t: &str| format!(r#"<c r="{r}" t="inlineStr"><is><t>{t}</t></is></c>"#);
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
    let id = songnuan_bench::id_number(&mut rng, 530124, 1);
    z.start_file("xl/worksheets/sheet1.xml", opts)?;
    write!(
        z,
        r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">{}{}{}{}{}</row><row r="2">{}{}{}{}{}</row></sheetData></worksheet>"#,
        cell("A1", "类别编码"),
        cell("B1", "类型"),
        cell("C1", "姓名"),
        cell("D1", "身份证号"),
        cell("E1", "推荐单位"),
        cell("A2", "HARDSHIP"),
        cell("B2", "个人"),
        cell("C2", "张三"),
        cell("D2", &id),
        cell("E2", &a.org),
    )?;
    z.start_file("xl/sharedStrings.xml", opts)?;
    write!(
        z,
        r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{n}" uniqueCount="{n}">"#,
        n = a.claim.unwrap_or(a.strings)
    )?;
    let chunk = "<si><t/></si>".repeat(10_000);
    for _ in 0..a.strings / 10_000 {
        z.write_all(chunk.as_bytes())?;
    }
    z.write_all("<si><t/></si>".repeat((a.strings % 10_000) as usize).as_bytes())?;
    z.write_all(b"</sst>")?;
    z.finish()?;
    println!(
        "wrote {} shared strings to {} ({} KB)",
        a.strings,
        a.out.display(),
        std::fs::metadata(&a.out)?.len() / 1024
    );
    Ok(())
}
