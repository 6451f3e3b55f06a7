#!/usr/bin/env python3
"""Generates tests/data/redaction_corpus.tsv: realistic spellings of personal data in
decision texts. Columns: text, recorded values that must not appear in the public text
(|-separated), the party's recorded address, other persons (|-separated), substrings that
must survive (|-separated). Deterministic (fixed seed); rerun after changing it."""
import os, random

random.seed(11)
FW = str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz@+-.",
                   "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ＠＋－．")
rows = []
def row(text, recorded, address="", others=(), keep=()):
    keep = list(keep) + [k for k in KEEP if k in text and k not in keep]
    rows.append("\t".join([text, "|".join(recorded), address, "|".join(others), "|".join(keep)]))

KEEP = ["罚款人民币5000元", "沈市监罚〔2025〕12号", "2025年3月5日"]
def tail(): return "。" + random.choice(KEEP) + "。"

mobiles = ["139%08d" % random.randrange(10**8) for _ in range(12)] + ["13812345678", "15000001111", "18698765432", "17712340000"]
def phone_forms(m):
    a, b, c = m[:3], m[3:7], m[7:]
    return [m, f"{a} {b} {c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+86 {m}", f"+86-{a}-{b}-{c}", f"+86{m}",
            f"0086 {m}", m.translate(FW), f"{a}\u3000{b}\u3000{c}".translate(FW), f"（+86）{m}", f"86-{m}"]
for m in mobiles:
    for f in random.sample(phone_forms(m), 6):
        lead = random.choice(["联系电话", "电话：", "手机号码为", "当事人手机", "tel:", "联系方式"])
        row(f"当事人张三{lead}{f}，经营过期食品{tail()}", [m], keep=["当事人张三"])

def id18(y, m, d):
    body = "2101%02d%04d%02d%02d%03d" % (random.randrange(1, 15), y, m, d, random.randrange(1000))
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(c) * w[i] for i, c in enumerate(body))
    return body + "10X98765432"[s % 11]
ids = [id18(random.randrange(1950, 2000), random.randrange(1, 13), random.randrange(1, 29)) for _ in range(14)]
def id_forms(i):
    return [i, i.lower(), i.translate(FW), f"{i[:6]} {i[6:14]} {i[14:]}", f"{i[:6]}-{i[6:14]}-{i[14:]}",
            " ".join([i[:3], i[3:6], i[6:10], i[10:14], i[14:]]), i.translate(FW).lower()]
for i in ids:
    for f in random.sample(id_forms(i), 6):
        lead = random.choice(["身份证号", "公民身份号码：", "身份证号码为", "证件号", "ID:"])
        row(f"当事人李四（{lead}{f}）未取得许可擅自经营{tail()}", [i.upper()])
for _ in range(10):
    i15 = "2101%02d%02d%02d%02d%03d" % (random.randrange(1, 15), random.randrange(50, 99), random.randrange(1, 13), random.randrange(1, 29), random.randrange(1000))
    row(f"旧身份证号{i15}，当事人王五{tail()}", [i15])
    row(f"旧身份证号{i15[:6]} {i15[6:12]} {i15[12:]}，当事人王五{tail()}", [i15])

cards = ["6222%012d" % random.randrange(10**12) for _ in range(8)] + ["621700%013d" % random.randrange(10**13) for _ in range(8)]
for c in cards:
    groups = " ".join(c[i:i + 4] for i in range(0, len(c), 4))
    for f in [c, groups, groups.replace(" ", "-"), c.translate(FW)]:
        row(f"罚款已由当事人账户{f}转入{tail()}", [c])

emails = ["zhangsan@example.com", "li.si_88@163.com", "wang-wu@qq.com", "zs2025@sina.com.cn", "lisi@gov.example.cn"]
for e in emails:
    for f in [e, e.upper(), e.translate(FW), e.replace("@", "＠")]:
        row(f"当事人电子邮箱{f}，已送达{tail()}", [e.lower()])

plates = ["辽A12345", "辽A·12345", "辽B D12345", "粤B-88888", "京N·A1234", "沪C12345", "辽AD12345"]
for p in plates:
    for lead in ["驾驶", "车牌号", "号牌为", "车辆"]:
        row(f"当事人张三{lead}{p}运输过期食品{tail()}", [p.replace("·", "").replace(" ", "").replace("-", "")])

addresses = ["辽宁省沈阳市和平区南京北街18号", "沈阳市大东区小北街22号3单元501室", "铁岭市银州区广裕街7号",
             "辽宁省鞍山市铁东区胜利南路39号2-1-3", "沈阳市皇姑区黄河南大街100号"]
for a in addresses:
    parts = [a]
    for cut in ["省", "市", "区"]:
        if cut in a:
            parts.append(a[a.index(cut) + 1:])
    street = parts[-1]
    for p in parts:
        for f in [p, p.translate(FW), " ".join(p)]:
            row(f"当事人张三，住{f}，经营过期食品{tail()}", [street], address=a)
    row(f"当事人张三户籍地{street}{tail()}", [street], address=a)

unlisted = [("证人", "赵小刚"), ("店员", "钱多多"), ("妻子：", "孙丽"), ("举报人", "周建国"), ("邻居", "吴芳"),
            ("驾驶人", "郑伟"), ("员工", "王强"), ("负责人", "冯军"), ("委托代理人", "陈静"), ("同事", "褚明亮")]
for role, name in unlisted:
    for tail_text in ["在场", "称其不知情", "作证", "签字确认", "，"]:
        row(f"经查，{role}{name}{tail_text}，当事人张三销售过期食品{tail()}", [name])
listed = ["李小明", "欧阳娜娜", "王五", "马六", "何雨"]
for n in listed:
    for f in [n, " ".join(n), n + "（化名）"]:
        row(f"现场检查时{f}在场，当事人张三销售过期食品{tail()}", [n], others=listed)

patterns = ["住大东区小北街22号3单元501室", "家住和平区太原街3号", "现住铁西区兴华南街58号1单元", "住址：皇姑区昆山中路12号",
            "住于浑南区全运路109号", "户籍地银州区柴河街47号"]
for p in patterns:
    street = p.split("区")[-1] if "区" in p else p
    row(f"当事人张三，{p}，经营过期食品{tail()}", [street])

keep_only = ["沈市监罚〔2025〕12号", "罚款人民币5000元", "统一社会信用代码91210100MA0Y12345X", "2025-03-05", "第一百二十四条",
             "没收违法所得1234元", "货值金额20000元", "2024年12月31日至2025年1月5日"]
for k in keep_only:
    row(f"依据{k}作出处理{tail()}", [], keep=[k])

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "redaction_corpus.tsv")
with open(out, "w", encoding="utf-8") as f:
    f.write("# text\trecorded (must not appear)\tparty address\tother persons\tmust survive\n")
    for r in rows:
        f.write(r + "\n")
print(len(rows), "rows")
