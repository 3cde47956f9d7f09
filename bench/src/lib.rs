//! Synthetic but valid data for benchmarks and the demo: names, ID numbers with correct GB 11643
//! check digits, mobile numbers and bank accounts, deterministic from a seed.
use chrono::NaiveDate;
use rand::Rng;
use rand::rngs::StdRng;

const SURNAMES: &[&str] = &[
    "张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭", "何",
    "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田",
    "董", "袁", "潘", "于", "蒋", "蔡",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀英", "霞", "平", "刚", "桂英", "华", "建华", "玉兰", "红梅", "志强", "海燕", "国庆", "春花", "文",
    "斌", "琳", "宇", "浩", "婷", "鑫", "云",
];

pub fn name(rng: &mut StdRng) -> String {
    let s = SURNAMES[rng.gen_range(0..SURNAMES.len())];
    let g = GIVEN[rng.gen_range(0..GIVEN.len())];
    if rng.gen_bool(0.4) {
        let g2 = GIVEN[rng.gen_range(0..GIVEN.len())];
        format!("{s}{g}{g2}")
    } else {
        format!("{s}{g}")
    }
}

/// A valid ID number in `region`, born 1960–2000; `seq` keeps numbers distinct.
pub fn id_number(rng: &mut StdRng, region: u32, seq: u32) -> String {
    let birth =
        NaiveDate::from_ymd_opt(1960, 1, 1).unwrap() + chrono::Duration::days(rng.gen_range(0..14600));
    domain::identity::make_id_number(region, birth, seq)
}

pub fn phone(rng: &mut StdRng) -> String {
    format!(
        "1{}{:09}",
        rng.gen_range(3..=9),
        rng.gen_range(0..1_000_000_000u32)
    )
}

pub fn bank_account(rng: &mut StdRng) -> String {
    format!("6228{:015}", rng.gen_range(0..1_000_000_000_000_000u64))
}

pub const BANKS: &[&str] = &[
    "中国农业银行",
    "中国工商银行",
    "中国建设银行",
    "富滇银行",
    "中国邮政储蓄银行",
    "云南农村信用社",
];
