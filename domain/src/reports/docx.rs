//! The evaluation report as DOCX (docx-rs), laid out after GB/T 9704-2012 (党政机关公文格式):
//! A4; margins 37 mm top, 28 mm left, 26 mm right, 35 mm bottom (a 156 × 225 mm text area);
//! a 22 lines × 28 characters document grid; the title in 2号 (22 pt) 小标宋, the body in 3号
//! (16 pt) 仿宋, first-level headings 黑体, second-level 楷体; page numbers "— 1 —" in 4号
//! 宋体 in the footer, odd pages at the right and even pages at the left, one character in.
//!
//! A DOCX only names its fonts; Word and WPS draw them with the reader's fonts. No free
//! 方正小标宋 exists, so the title names it with 宋体 as its alternative (`w:altName` in the
//! font table), and each Chinese face is listed with its English name as alternative.
use crate::core::error::{DomainError, DomainResult};
use crate::reports::chart;
use crate::reports::outline::{Block, Table as TableBlock};
use docx_rs::{
    AlignmentType, DocGrid, DocGridType, Docx, Footer, LineSpacing, LineSpacingType, PageMargin, PageNum,
    Paragraph, Pic, Run, RunFonts, SpecialIndentType, Style, StyleType, Table, TableAlignmentType, TableCell,
    TableLayoutType, TableRow, VAlignType, WidthType,
};

/// Millimetres to twentieths of a point.
const fn mm(v: u32) -> i32 {
    ((v * 14_400 + 127) / 254) as i32
}

pub const PAGE_W: u32 = 11_906; // A4, twips
pub const PAGE_H: u32 = 16_838;
pub const MARGIN_TOP: i32 = mm(37);
pub const MARGIN_LEFT: i32 = mm(28);
pub const MARGIN_RIGHT: i32 = mm(26);
pub const MARGIN_BOTTOM: i32 = mm(35);
/// 225 mm / 22 lines.
pub const LINE_PITCH: usize = (225 * 14_400 / 254 / 22) as usize;
/// The text area's width in twips (156 mm).
const TEXT_W: usize = (156 * 14_400 / 254) as usize;
/// 28 characters on a 156 mm line: each character's pitch less the body's 16 pt, in 1/4096 pt.
const CHAR_SPACE: isize = ((TEXT_W as isize * 4096 / 28) - 16 * 20 * 4096) / 20;

/// Body characters 0.2 pt tighter than 16 pt, so 28 fill the 156 mm line (a "lines" grid:
/// LibreOffice spreads characters apart on a "lines and characters" grid, Word does not; the
/// spacing gives 28 per line in both).
const BODY_SPACING: i32 = CHAR_SPACE as i32 * 20 / 4096;

/// The faces named, with the alternative a reader without them gets.
pub const TITLE_FONT: &str = "方正小标宋简体";
pub const BODY_FONT: &str = "仿宋";
pub const HEADING1_FONT: &str = "黑体";
pub const HEADING2_FONT: &str = "楷体";
pub const PAGE_NUMBER_FONT: &str = "宋体";
const FONT_TABLE: [(&str, &str); 5] = [
    (TITLE_FONT, "宋体"),
    (BODY_FONT, "FangSong"),
    (HEADING1_FONT, "SimHei"),
    (HEADING2_FONT, "KaiTi"),
    (PAGE_NUMBER_FONT, "SimSun"),
];
const LATIN: &str = "Times New Roman";

fn fonts(east_asia: &str) -> RunFonts {
    RunFonts::new()
        .east_asia(east_asia)
        .ascii(LATIN)
        .hi_ansi(LATIN)
        .cs(LATIN)
}

fn styles(docx: Docx) -> Docx {
    let body_first_line = Some(SpecialIndentType::FirstLine(640)); // two characters of 16 pt
    docx.add_style(
        Style::new("SnTitle", StyleType::Paragraph)
            .name("SN 标题")
            .size(44)
            .fonts(fonts(TITLE_FONT))
            .align(AlignmentType::Center)
            .line_spacing(LineSpacing::new().before(0).after(0)),
    )
    .add_style(
        Style::new("SnSubtitle", StyleType::Paragraph)
            .name("SN 副标题")
            .size(32)
            .fonts(fonts(BODY_FONT))
            .align(AlignmentType::Center),
    )
    .add_style(
        Style::new("SnBody", StyleType::Paragraph)
            .name("SN 正文")
            .size(32)
            .fonts(fonts(BODY_FONT))
            .align(AlignmentType::Both)
            .indent(None, body_first_line, None, None),
    )
    .add_style(
        Style::new("SnHeading1", StyleType::Paragraph)
            .name("SN 一级标题")
            .size(32)
            .fonts(fonts(HEADING1_FONT))
            .indent(None, body_first_line, None, None)
            .outline_lvl(0),
    )
    .add_style(
        Style::new("SnHeading2", StyleType::Paragraph)
            .name("SN 二级标题")
            .size(32)
            .fonts(fonts(HEADING2_FONT))
            .indent(None, body_first_line, None, None)
            .outline_lvl(1),
    )
    .add_style(
        Style::new("SnCaption", StyleType::Paragraph)
            .name("SN 图表题")
            .size(28)
            .fonts(fonts(HEADING1_FONT))
            .align(AlignmentType::Center),
    )
    .add_style(
        Style::new("SnCell", StyleType::Paragraph)
            .name("SN 表格")
            .size(24)
            .fonts(fonts(BODY_FONT))
            .snap_to_grid(false)
            .line_spacing(
                LineSpacing::new()
                    .before(0)
                    .after(0)
                    .line(300)
                    .line_rule(LineSpacingType::Auto),
            ),
    )
    .add_style(
        Style::new("SnPageNumber", StyleType::Paragraph)
            .name("SN 页码")
            .size(28)
            .fonts(fonts(PAGE_NUMBER_FONT))
            .snap_to_grid(false),
    )
}

/// The DOCX file of `blocks`; `chart_png` is the picture `Block::Chart` shows (made by
/// `chart::planned_vs_served`, `categories` rows tall).
pub fn render(blocks: &[Block], chart_png: &[u8], categories: usize) -> DomainResult<Vec<u8>> {
    let mut docx = styles(
        Docx::new()
            .page_size(PAGE_W, PAGE_H)
            .page_margin(
                PageMargin::new()
                    .top(MARGIN_TOP)
                    .left(MARGIN_LEFT)
                    .right(MARGIN_RIGHT)
                    .bottom(MARGIN_BOTTOM)
                    .header(mm(15))
                    .footer(mm(23)),
            )
            .default_fonts(fonts(BODY_FONT))
            .default_size(32),
    );
    docx.document.section_property = docx.document.section_property.clone().doc_grid(
        DocGrid::new()
            .grid_type(DocGridType::Lines)
            .line_pitch(LINE_PITCH)
            .char_space(CHAR_SPACE),
    );
    // Odd pages: the number at the right, one character in; even pages at the left.
    let page_number = |align: AlignmentType, left: Option<i32>, right: Option<i32>| {
        Paragraph::new()
            .style("SnPageNumber")
            .align(align)
            .indent(left, None, right, None)
            .add_run(Run::new().add_text("— "))
            .add_page_num(PageNum::new())
            .add_run(Run::new().add_text(" —"))
    };
    docx = docx
        .footer(Footer::new().add_paragraph(page_number(AlignmentType::Right, None, Some(280))))
        .even_footer(Footer::new().add_paragraph(page_number(AlignmentType::Left, Some(280), None)));
    for b in blocks {
        docx = match b {
            Block::Title(t) => docx
                .add_paragraph(Paragraph::new().style("SnTitle").add_run(Run::new().add_text(t)))
                .add_paragraph(Paragraph::new().style("SnSubtitle")),
            Block::Subtitle(t) => docx
                .add_paragraph(
                    Paragraph::new()
                        .style("SnSubtitle")
                        .add_run(Run::new().add_text(t)),
                )
                .add_paragraph(Paragraph::new().style("SnSubtitle")),
            Block::Heading1(t) => docx.add_paragraph(
                Paragraph::new()
                    .style("SnHeading1")
                    .keep_next(true)
                    .add_run(Run::new().add_text(t)),
            ),
            Block::Heading2(t) => docx.add_paragraph(
                Paragraph::new()
                    .style("SnHeading2")
                    .keep_next(true)
                    .add_run(Run::new().add_text(t)),
            ),
            Block::Paragraph(t) => docx.add_paragraph(
                Paragraph::new()
                    .style("SnBody")
                    .add_run(Run::new().character_spacing(BODY_SPACING).add_text(t)),
            ),
            Block::Table(t) => docx
                .add_paragraph(
                    Paragraph::new()
                        .style("SnCaption")
                        .keep_next(true)
                        .add_run(Run::new().add_text(&t.caption)),
                )
                .add_table(table(t))
                .add_paragraph(Paragraph::new().style("SnCell")),
            Block::Chart { caption } => {
                let w_px = chart::WIDTH;
                let h_px = chart::height(categories);
                // 156 mm wide (the text area), in EMU; the height keeps the proportion.
                let w_emu = 156 * 36_000u32;
                let h_emu = (w_emu as u64 * h_px as u64 / w_px as u64) as u32;
                let pic = Pic::new_with_dimensions(chart_png.to_vec(), w_px, h_px).size(w_emu, h_emu);
                docx.add_paragraph(
                    Paragraph::new()
                        .align(AlignmentType::Center)
                        .snap_to_grid(false)
                        .keep_next(true)
                        .add_run(Run::new().add_image(pic)),
                )
                .add_paragraph(
                    Paragraph::new()
                        .style("SnCaption")
                        .add_run(Run::new().add_text(caption)),
                )
            }
        };
    }
    let mut xml = docx.build();
    xml.font_table = font_table();
    let mut out = std::io::Cursor::new(Vec::new());
    xml.pack(&mut out)
        .map_err(|e| DomainError::internal(anyhow::anyhow!("DOCX 打包失败：{e}")))?;
    Ok(out.into_inner())
}

fn table(t: &TableBlock) -> Table {
    let total: u32 = t.widths.iter().sum::<u32>().max(1);
    let grid: Vec<usize> = t
        .widths
        .iter()
        .map(|w| (TEXT_W as u64 * *w as u64 / total as u64) as usize)
        .collect();
    // Every row but the last keeps with the next: a table of a dozen rows moves to the next
    // page whole rather than leaving its header alone at the foot of a page.
    let cell = |text: &str, col: usize, header: bool, keep: bool| {
        let align = if header {
            AlignmentType::Center
        } else if t.numeric.get(col).copied().unwrap_or(false) {
            AlignmentType::Right
        } else {
            AlignmentType::Left
        };
        let mut run = Run::new().add_text(text);
        if header {
            run = run.fonts(fonts(HEADING1_FONT));
        }
        TableCell::new()
            .width(grid[col.min(grid.len() - 1)], WidthType::Dxa)
            .vertical_align(VAlignType::Center)
            .add_paragraph(
                Paragraph::new()
                    .style("SnCell")
                    .align(align)
                    .keep_next(keep)
                    .add_run(run),
            )
    };
    let mut rows = vec![
        TableRow::new(
            t.header
                .iter()
                .enumerate()
                .map(|(i, h)| cell(h, i, true, true))
                .collect(),
        )
        .cant_split(),
    ];
    for (n, r) in t.rows.iter().enumerate() {
        let keep = n + 1 < t.rows.len();
        rows.push(
            TableRow::new(
                r.iter()
                    .enumerate()
                    .map(|(i, c)| cell(c, i, false, keep))
                    .collect(),
            )
            .cant_split(),
        );
    }
    Table::new(rows)
        .set_grid(grid)
        .layout(TableLayoutType::Fixed)
        .width(TEXT_W, WidthType::Dxa)
        .align(TableAlignmentType::Center)
}

/// `word/fontTable.xml` naming each face with its alternative (docx-rs lists only its three
/// Latin defaults).
fn font_table() -> Vec<u8> {
    let mut x = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:fonts xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
    );
    x.push_str(r#"<w:font w:name="Times New Roman"><w:charset w:val="00"/><w:family w:val="roman"/><w:pitch w:val="variable"/></w:font>"#);
    for (name, alt) in FONT_TABLE {
        x.push_str(&format!(
            r#"<w:font w:name="{name}"><w:altName w:val="{alt}"/><w:charset w:val="86"/><w:family w:val="auto"/><w:pitch w:val="variable"/></w:font>"#
        ));
    }
    x.push_str("</w:fonts>");
    x.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_follows_gb_t_9704() {
        // 37 / 28 / 26 / 35 mm in twips.
        assert_eq!(
            (MARGIN_TOP, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_BOTTOM),
            (2098, 1587, 1474, 1984)
        );
        // 22 lines in 225 mm; 28 characters of 15.79 pt in 156 mm.
        assert_eq!(LINE_PITCH, 579);
        assert!((PAGE_H as i32 - MARGIN_TOP - MARGIN_BOTTOM) / LINE_PITCH as i32 == 22);
        let pitch_pt = 16.0 + CHAR_SPACE as f64 / 4096.0;
        let per_line = TEXT_W as f64 / 20.0 / pitch_pt;
        assert!((per_line - 28.0).abs() < 0.01, "{CHAR_SPACE}: {per_line}");
    }
}
