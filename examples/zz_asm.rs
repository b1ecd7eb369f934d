#[inline(never)]
#[unsafe(no_mangle)]
pub fn category_sum(pairs: &[(u32, u32)]) -> u64 {
    pairs
        .iter()
        .map(|&(e, s)| tencent_css_errcode::decode(e, s).category() as u64)
        .sum()
}
fn main() {
    println!("{}", category_sum(&[(1, 2)]));
}
