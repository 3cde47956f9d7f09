//! The evaluation report as Markdown (CommonMark with GFM tables): the blocks of `outline`,
//! the chart inlined as a PNG data URI so the file stands alone.
use crate::reports::outline::{Block, Table};
use base64::Engine;

/// The Markdown text of `blocks`; `chart` is the PNG `Block::Chart` shows.
pub fn render(blocks: &[Block], chart: &[u8]) -> String {
    let mut out = String::new();
    for b in blocks {
        match b {
            Block::Title(t) => out.push_str(&format!("# {}\n\n", inline(t))),
            Block::Subtitle(t) => out.push_str(&format!("{}\n\n", inline(t))),
            Block::Heading1(t) => out.push_str(&format!("## {}\n\n", inline(t))),
            Block::Heading2(t) => out.push_str(&format!("### {}\n\n", inline(t))),
            Block::Paragraph(t) => out.push_str(&format!("{}\n\n", inline(t))),
            Block::Table(t) => table(&mut out, t),
            Block::Chart { caption } => {
                let data = base64::engine::general_purpose::STANDARD.encode(chart);
                out.push_str(&format!(
                    "![{}](data:image/png;base64,{})\n\n*{}*\n\n",
                    inline(caption),
                    data,
                    inline(caption)
                ));
            }
        }
    }
    out
}

fn table(out: &mut String, t: &Table) {
    out.push_str(&format!("**{}**\n\n", inline(&t.caption)));
    let row = |cells: &[String]| -> String {
        let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    out.push_str(&row(&t.header));
    let rule: Vec<&str> = t
        .numeric
        .iter()
        .map(|n| if *n { "---:" } else { "---" })
        .collect();
    out.push_str(&format!("| {} |\n", rule.join(" | ")));
    for r in &t.rows {
        out.push_str(&row(r));
    }
    out.push('\n');
}

/// Text from the data (names, narratives) never turns into Markdown syntax: the characters
/// that could start markup are escaped.
fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '!' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn cell(s: &str) -> String {
    inline(&s.replace(['\n', '\r'], " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_never_becomes_markup() {
        let blocks = vec![
            Block::Heading1("一、基本情况".into()),
            Block::Paragraph("# 不是标题 | *不是强调*".into()),
            Block::Table(Table {
                caption: "表".into(),
                header: vec!["类别".into(), "计划".into()],
                rows: vec![vec!["a|b\nc".into(), "8".into()]],
                widths: vec![1, 1],
                numeric: vec![false, true],
            }),
        ];
        let md = render(&blocks, &[]);
        assert!(md.contains("## 一、基本情况\n"));
        assert!(md.contains("\\# 不是标题 \\| \\*不是强调\\*"));
        assert!(md.contains("| a\\|b c | 8 |"));
        assert!(md.contains("| --- | ---: |"));
    }
}
