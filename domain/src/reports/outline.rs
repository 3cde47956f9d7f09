//! The evaluation report's text, once, as a list of blocks (headings, paragraphs, tables, the
//! chart) in the seed's seven parts (一、基本情况 … 七、相关建议, the outline of 财预〔2020〕10号
//! practice). `markdown` and `docx` only lay these blocks out, so both formats say the same.
//! Every figure comes from `ReportData`; nothing here knows a campaign.
use crate::reports::data::{CategoryRow, ReportData, percent};

/// A piece of the report.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// The document's title (2号 小标宋).
    Title(String),
    /// A line under the title (the organisation and the date), centred.
    Subtitle(String),
    /// 一、… (黑体).
    Heading1(String),
    /// （一）… (楷体).
    Heading2(String),
    Paragraph(String),
    Table(Table),
    /// The chart of planned against served per category (a PNG made by `chart`).
    Chart {
        caption: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub caption: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Relative column widths.
    pub widths: Vec<u32>,
    /// Columns holding figures (right-aligned).
    pub numeric: Vec<bool>,
}

/// The seven headings, in order (the tests look for them).
pub const PARTS: [&str; 7] = [
    "一、基本情况",
    "二、绩效评价工作开展情况",
    "三、综合评价情况及评价结论",
    "四、绩效评价指标分析",
    "五、主要经验及做法",
    "六、存在的问题及原因分析",
    "七、相关建议",
];

const NOT_YET: &str = "（本项目尚未开展绩效评价，本部分待评价完成后生成。）";
const NOT_WRITTEN: &str = "（评价组尚未填写本部分。）";

fn date(d: chrono::NaiveDate) -> String {
    d.format("%Y年%-m月%-d日").to_string()
}

fn unit_word(c: &CategoryRow) -> &'static str {
    if c.unit { "个" } else { "人" }
}

/// The blocks of the report for `d`.
pub fn outline(d: &ReportData) -> Vec<Block> {
    let mut b = Vec::new();
    let o = &d.overview;
    b.push(Block::Title(format!("{}绩效评价报告", o.campaign_name)));
    b.push(Block::Subtitle(format!(
        "{}　{}",
        o.organization,
        date(d.generated_on)
    )));

    // 一、基本情况
    b.push(Block::Heading1(PARTS[0].into()));
    b.push(Block::Heading2("（一）项目概况".into()));
    let refs = if o.policy_refs.is_empty() {
        String::new()
    } else {
        format!("依据{}，", o.policy_refs.join("、"))
    };
    let planned_total: i64 = d.categories.iter().map(|c| c.planned).sum();
    let served_total: i64 = d.categories.iter().map(|c| c.served).sum();
    b.push(Block::Paragraph(format!(
        "{}{}组织实施“{}”项目，实施期间为{}至{}，项目预算{}元。项目共设慰问类别{}个，计划慰问对象{}个（人），实际慰问{}个（人），涉及推荐单位{}个。",
        refs,
        o.organization,
        o.campaign_name,
        date(o.starts_on),
        date(o.deadline),
        d.budget.budget,
        d.categories.len(),
        planned_total,
        served_total,
        o.nominating_organizations,
    )));
    b.push(Block::Heading2("（二）项目绩效目标及完成情况".into()));
    let mut goals: Vec<String> = d
        .categories
        .iter()
        .map(|c| format!("{}{}{}", c.name, c.planned, unit_word(c)))
        .collect();
    if goals.is_empty() {
        goals.push("（未设慰问类别）".into());
    }
    b.push(Block::Paragraph(format!(
        "总体目标：慰问{}。慰问金（物资）在{}前发放到位，慰问对象覆盖率达到100%。",
        goals.join("，"),
        date(o.deadline)
    )));
    b.push(Block::Table(targets_table(d)));
    b.push(Block::Chart {
        caption: "图1　各类别计划与实际慰问对象数量".into(),
    });
    b.push(Block::Heading2("（三）资金投入及使用情况".into()));
    let bf = &d.budget;
    let mut money = format!(
        "项目预算{}元，专项台账到位资金{}元；截至评价期末，实际支出{}元，预算执行率为{}%。",
        bf.budget,
        bf.funded,
        bf.spent,
        bf.execution_percent()
    );
    if bf.contract_payments.fen() > 0 {
        money.push_str(&format!(
            "其中慰问物资经政府采购，向供应商支付合同价款{}元。",
            bf.contract_payments
        ));
    }
    money.push_str(&format!("专项台账余额{}元。", signed_money(bf.balance)));
    b.push(Block::Paragraph(money));
    b.push(Block::Heading2("（四）项目实施时间".into()));
    b.push(Block::Paragraph(timeline_text(d)));

    // 二、绩效评价工作开展情况
    b.push(Block::Heading1(PARTS[1].into()));
    b.push(Block::Heading2("（一）评价方法与抽样".into()));
    match d.evaluation.as_ref().and_then(|e| e.satisfaction.as_ref()) {
        Some(s) => {
            let methods: Vec<String> = s.methods.iter().map(|(m, n)| format!("{m}{n}人")).collect();
            let sample = match &s.method {
                Some(m) => format!("抽样方法：{m}。"),
                None => "尚未抽样。".into(),
            };
            b.push(Block::Paragraph(format!(
                "{}评价组对样本对象开展满意度回访（样本量{}人），回访方式为{}，共回访{}人。",
                sample,
                s.sample_size,
                if methods.is_empty() {
                    "电话回访、现场咨询和微信互动".into()
                } else {
                    methods.join("、")
                },
                s.surveyed,
            )));
        }
        None => b.push(Block::Paragraph(
            "评价组按慰问类别和推荐单位分层随机抽样，开展满意度回访。".to_string()
                + if d.evaluation.is_none() {
                    NOT_YET
                } else {
                    "（尚未抽样回访。）"
                },
        )),
    }
    b.push(Block::Heading2("（二）评价工作流程".into()));
    b.push(Block::Paragraph(format!(
        "评价工作分为准备、实施、评价、反馈、归档五个阶段{}。",
        d.evaluation
            .as_ref()
            .map(|e| format!("，当前处于{}阶段", e.step))
            .unwrap_or_default()
    )));

    // 三、综合评价情况及评价结论
    b.push(Block::Heading1(PARTS[2].into()));
    b.push(Block::Heading2("（一）综合评价情况".into()));
    match &d.evaluation {
        Some(e) => {
            b.push(Block::Paragraph(format!(
                "根据绩效评价指标体系量化评分，项目综合评价得分为{}分，评价等级为“{}”。各项指标得分见下表。",
                e.total_score, e.grade
            )));
            b.push(Block::Table(indicator_table(d)));
        }
        None => b.push(Block::Paragraph(NOT_YET.into())),
    }
    b.push(Block::Heading2("（二）评价结论".into()));
    b.push(Block::Paragraph(narrative(d, |n| n.conclusion.as_deref())));

    // 四、绩效评价指标分析
    b.push(Block::Heading1(PARTS[3].into()));
    b.push(Block::Heading2("（一）预算执行情况".into()));
    b.push(Block::Paragraph(format!(
        "项目资金预算总额{}元，实际支出{}元，预算执行率为{}%。",
        bf.budget,
        bf.spent,
        bf.execution_percent()
    )));
    b.push(Block::Heading2("（二）产出指标".into()));
    b.push(Block::Paragraph(quantity_text(d)));
    let standards: Vec<String> = d
        .categories
        .iter()
        .filter(|c| !c.unit)
        .map(|c| format!("{}{}元/人", c.name, c.standard))
        .collect();
    if !standards.is_empty() {
        b.push(Block::Paragraph(format!(
            "成本：慰问标准为{}，系统拒绝任何超标准发放。",
            standards.join("，")
        )));
    }
    b.push(Block::Heading2("（三）满意度指标".into()));
    match d.evaluation.as_ref().and_then(|e| e.satisfaction.as_ref()) {
        Some(s) if s.surveyed > 0 => b.push(Block::Paragraph(format!(
            "共回访{}人，其中满意{}人，满意度为{}%，{}{}%的绩效目标。",
            s.surveyed,
            s.satisfied,
            s.rate_percent(),
            if s.satisfied * 100 >= s.surveyed * target_percent(s) {
                "达到"
            } else {
                "低于"
            },
            s.target_percent
        ))),
        _ => b.push(Block::Paragraph("（尚无满意度回访记录。）".into())),
    }

    // 五、六、七: the evaluators' narratives.
    b.push(Block::Heading1(PARTS[4].into()));
    b.push(Block::Paragraph(narrative(d, |n| n.experience.as_deref())));
    b.push(Block::Heading1(PARTS[5].into()));
    b.push(Block::Paragraph(narrative(d, |n| n.problems.as_deref())));
    b.push(Block::Heading1(PARTS[6].into()));
    b.push(Block::Paragraph(narrative(d, |n| n.suggestions.as_deref())));
    split_paragraphs(b)
}

fn target_percent(s: &crate::reports::data::Satisfaction) -> i64 {
    s.target_percent
        .split('.')
        .next()
        .and_then(|x| x.parse().ok())
        .unwrap_or(90)
}

/// A narrative may hold several paragraphs (blank lines or line breaks): one block each.
fn split_paragraphs(blocks: Vec<Block>) -> Vec<Block> {
    let mut out = Vec::with_capacity(blocks.len());
    for b in blocks {
        match b {
            Block::Paragraph(text) if text.contains('\n') => {
                for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    out.push(Block::Paragraph(line.to_string()));
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn narrative(d: &ReportData, pick: impl Fn(&crate::reports::data::Narratives) -> Option<&str>) -> String {
    match &d.evaluation {
        None => NOT_YET.into(),
        Some(e) => match pick(&e.narratives).map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => t.to_string(),
            None => NOT_WRITTEN.into(),
        },
    }
}

fn signed_money(fen: i64) -> String {
    let m = crate::core::money::Money::from_fen(fen.abs());
    if fen < 0 { format!("-{m}") } else { m.to_string() }
}

fn targets_table(d: &ReportData) -> Table {
    let mut rows: Vec<Vec<String>> = d
        .categories
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.planned.to_string(),
                c.served.to_string(),
                format!("{}%", percent(c.served, c.planned)),
                if c.unit {
                    format!("{}（物资）", c.standard)
                } else {
                    c.standard.to_string()
                },
                c.spent.to_string(),
            ]
        })
        .collect();
    let planned: i64 = d.categories.iter().map(|c| c.planned).sum();
    let served: i64 = d.categories.iter().map(|c| c.served).sum();
    rows.push(vec![
        "合计".into(),
        planned.to_string(),
        served.to_string(),
        format!("{}%", percent(served, planned)),
        String::new(),
        d.budget.spent.to_string(),
    ]);
    Table {
        caption: "表1　慰问对象计划与完成情况".into(),
        header: ["慰问类别", "计划", "实际", "完成率", "标准（元）", "支出（元）"]
            .map(String::from)
            .to_vec(),
        rows,
        widths: vec![30, 9, 9, 16, 17, 19],
        numeric: vec![false, true, true, true, true, true],
    }
}

fn indicator_table(d: &ReportData) -> Table {
    let e = d.evaluation.as_ref().expect("called with an evaluation");
    let mut rows: Vec<Vec<String>> = e
        .indicators
        .iter()
        .map(|r| {
            vec![
                r.level1.clone(),
                r.level2.clone().unwrap_or_default(),
                r.weight.clone(),
                r.score.clone().unwrap_or_else(|| "未评分".into()),
                r.note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let weights: String = e
        .indicators
        .iter()
        .filter(|r| r.level2.is_none())
        .map(|r| r.weight.parse::<rust_decimal::Decimal>().unwrap_or_default())
        .sum::<rust_decimal::Decimal>()
        .normalize()
        .to_string();
    rows.push(vec![
        "合计".into(),
        String::new(),
        weights,
        e.total_score.clone(),
        format!("评价等级：{}", e.grade),
    ]);
    Table {
        caption: "表2　绩效评价指标得分".into(),
        header: ["一级指标", "二级指标", "分值", "得分", "说明"]
            .map(String::from)
            .to_vec(),
        rows,
        widths: vec![18, 20, 9, 9, 44],
        numeric: vec![false, false, true, true, false],
    }
}

fn timeline_text(d: &ReportData) -> String {
    let t = &d.timeline;
    let o = &d.overview;
    let mut s = format!(
        "项目于{}启动，完成时限为{}。",
        date(o.starts_on),
        date(o.deadline)
    );
    if let Some(f) = t.first_funding_on {
        let days = (o.deadline - f).num_days();
        s.push_str(&format!("专项资金于{}到位（距完成时限{}天）。", date(f), days));
    } else {
        s.push_str("专项资金尚未入账。");
    }
    match (t.first_paid_on, t.last_paid_on) {
        (Some(a), Some(z)) if a == z => s.push_str(&format!("慰问金（物资）于{}集中发放，", date(a))),
        (Some(a), Some(z)) => s.push_str(&format!("慰问金（物资）于{}至{}发放，", date(a), date(z))),
        _ => s.push_str("尚无已发放的慰问金（物资），"),
    }
    s.push_str(&format!(
        "共发放{}笔，其中完成时限后发放{}笔；已签字确认{}笔，已录入省工会帮扶工作管理系统{}笔",
        t.paid, t.paid_after_deadline, t.confirmed, t.entered
    ));
    if t.entry_overdue > 0 {
        s.push_str(&format!("，逾期未录入{}笔", t.entry_overdue));
    }
    s.push('。');
    s
}

fn quantity_text(d: &ReportData) -> String {
    if d.categories.is_empty() {
        return "（未设慰问类别。）".into();
    }
    let parts: Vec<String> = d
        .categories
        .iter()
        .map(|c| {
            let w = unit_word(c);
            format!("计划慰问{}{}{}，实际慰问{}{}", c.name, c.planned, w, c.served, w)
        })
        .collect();
    let planned: i64 = d.categories.iter().map(|c| c.planned).sum();
    let served: i64 = d.categories.iter().map(|c| c.served).sum();
    let below: Vec<&str> = d
        .categories
        .iter()
        .filter(|c| c.served < c.planned)
        .map(|c| c.name.as_str())
        .collect();
    let verdict = if below.is_empty() {
        "各类别均达到计划目标".to_string()
    } else {
        format!("{}未达到计划目标", below.join("、"))
    };
    format!(
        "数量：{}。总完成率{}%，{}。",
        parts.join("；"),
        percent(served, planned),
        verdict
    )
}
