//! The report's chart: planned against served per category, as horizontal bars, drawn by
//! plotters' bitmap backend into memory and encoded as PNG. Text is drawn with the font that
//! travels with the project (`domain/assets/fonts`, a GB 2312 subset of WenQuanYi Micro Hei,
//! see `LICENSES.md`) through plotters' pure-Rust `ab_glyph` renderer: no system font, no
//! fontconfig, so the Chinese labels come out the same on a server with no CJK font at all.
use crate::core::error::{DomainError, DomainResult};
use crate::reports::data::CategoryRow;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::sync::OnceLock;

/// The embedded font (about 1.3 MB).
pub static FONT: &[u8] = include_bytes!("../../assets/fonts/wqy-microhei-gb2312.ttf");
/// The family name the font is registered under in plotters.
const FAMILY: &str = "songnuan-wqy-microhei";

/// Pixel width of the chart; the DOCX shows it 156 mm wide (the text area), about 260 dpi.
pub const WIDTH: u32 = 1600;

const PLANNED: RGBColor = RGBColor(176, 196, 222);
const SERVED: RGBColor = RGBColor(31, 78, 121);
const INK: RGBColor = RGBColor(34, 34, 34);
const GRID: RGBColor = RGBColor(220, 220, 220);

fn register() -> DomainResult<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(DomainError::internal(anyhow::anyhow!("图表字体无法加载")))
    }
}

/// The chart's height for `n` categories.
pub fn height(n: usize) -> u32 {
    170 + 96 * n.max(1) as u32
}

/// The PNG of planned (light) against served (dark) per category, with the figures at the
/// bars' ends; its size is (`WIDTH`, `height(categories.len())`).
pub fn planned_vs_served(categories: &[CategoryRow]) -> DomainResult<Vec<u8>> {
    register()?;
    let (w, h) = (WIDTH, height(categories.len()));
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    draw(&mut rgb, (w, h), categories)
        .map_err(|e| DomainError::internal(anyhow::anyhow!("图表绘制失败：{e}")))?;
    encode_png(&rgb, w, h)
}

fn draw(
    rgb: &mut [u8],
    (w, h): (u32, u32),
    categories: &[CategoryRow],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(rgb, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let font = |size: f64| TextStyle::from((FAMILY, size).into_font()).color(&INK);
    root.draw(&Text::new(
        "各类别计划与实际慰问对象数量",
        (w as i32 / 2, 40),
        font(40.0).pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    // Legend.
    let legend_y = 98;
    for (i, (label, color)) in [("计划", PLANNED), ("实际", SERVED)].into_iter().enumerate() {
        let x = w as i32 / 2 - 170 + i as i32 * 200;
        root.draw(&Rectangle::new(
            [(x, legend_y - 14), (x + 44, legend_y + 14)],
            color.filled(),
        ))?;
        root.draw(&Text::new(
            label,
            (x + 56, legend_y),
            font(30.0).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    let label_w = 600i32;
    let left = label_w + 24;
    let right = w as i32 - 150;
    let top = 140i32;
    let row = 96i32;
    let max = categories
        .iter()
        .map(|c| c.planned.max(c.served))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |v: i64| left + ((right - left) as f64 * v as f64 / max as f64).round() as i32;
    // Vertical grid at quarters of the largest figure.
    for q in 0..=4 {
        let x = left + (right - left) * q / 4;
        root.draw(&PathElement::new(
            vec![(x, top - 6), (x, top + row * categories.len() as i32)],
            GRID.stroke_width(2),
        ))?;
    }
    for (i, c) in categories.iter().enumerate() {
        let y = top + row * i as i32;
        let name: String = if c.name.chars().count() > 20 {
            c.name.chars().take(19).chain(std::iter::once('…')).collect()
        } else {
            c.name.clone()
        };
        root.draw(&Text::new(
            name,
            (label_w, y + row / 2 - 4),
            font(30.0).pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
        for (j, (v, color)) in [(c.planned, PLANNED), (c.served, SERVED)].into_iter().enumerate() {
            let y0 = y + 10 + j as i32 * 38;
            root.draw(&Rectangle::new(
                [(left, y0), (scale(v).max(left + 2), y0 + 32)],
                color.filled(),
            ))?;
            root.draw(&Text::new(
                v.to_string(),
                (scale(v).max(left + 2) + 10, y0 + 16),
                font(28.0).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
    }
    root.draw(&PathElement::new(
        vec![(left, top - 6), (left, top + row * categories.len() as i32)],
        INK.stroke_width(3),
    ))?;
    root.present()?;
    Ok(())
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> DomainResult<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(DomainError::internal)?;
        writer.write_image_data(rgb).map_err(DomainError::internal)?;
        writer.finish().map_err(DomainError::internal)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::money::Money;

    fn row(name: &str, planned: i64, served: i64) -> CategoryRow {
        CategoryRow {
            code: "X".into(),
            name: name.into(),
            unit: false,
            planned,
            served,
            standard: Money::from_fen(50_000),
            spent: Money::ZERO,
        }
    }

    /// Dark pixels in a horizontal band of the image.
    fn ink(rgb: &[u8], w: u32, y0: u32, y1: u32, x0: u32, x1: u32) -> usize {
        let mut n = 0;
        for y in y0..y1 {
            for x in x0..x1 {
                let i = ((y * w + x) * 3) as usize;
                if rgb[i] < 128 && rgb[i + 1] < 128 && rgb[i + 2] < 128 {
                    n += 1;
                }
            }
        }
        n
    }

    #[test]
    fn chinese_labels_are_drawn_with_the_embedded_font() {
        register().unwrap();
        // Everything drawn comes from the embedded font: plotters is built without its
        // system-font backend (`ttf`), so no font on this machine is consulted.
        let cats = [
            row("困难职工", 58, 58),
            row("消防、应急、文旅、城管（农民工）一线人员", 84, 80),
        ];
        let (w, h) = (WIDTH, height(cats.len()));
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        draw(&mut rgb, (w, h), &cats).unwrap();
        // The label area left of the bars holds the category names' glyphs: many dark pixels
        // where a missing font would leave the area blank.
        let label_band = ink(&rgb, w, 140, 140 + 96, 0, 600);
        assert!(label_band > 400, "label pixels: {label_band}");
        if let Ok(dir) = std::env::var("SONGNUAN_CHART_OUT") {
            std::fs::write(format!("{dir}/chart.png"), planned_vs_served(&cats).unwrap()).unwrap();
        }
        // Each CJK character alone leaves ink; a character outside the subset leaves none (so
        // the ink above is the names', not boxes).
        assert!(has_glyph('困') && has_glyph('职') && has_glyph('（') && has_glyph('5'));
        assert!(!has_glyph('\u{4DB5}'), "outside GB 2312: not in the subset");
        let png = planned_vs_served(&cats).unwrap();
        assert!(png.starts_with(&[0x89, b'P', b'N', b'G']));
    }

    /// Whether the embedded font draws `c`: the character alone, looked for as ink.
    fn has_glyph(c: char) -> bool {
        register().unwrap();
        let (w, h) = (200u32, 120u32);
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            root.draw(&Text::new(
                c.to_string(),
                (100, 60),
                TextStyle::from((FAMILY, 80.0).into_font())
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            ))
            .unwrap();
            root.present().unwrap();
        }
        ink(&rgb, w, 0, h, 0, w) > 100
    }
}
