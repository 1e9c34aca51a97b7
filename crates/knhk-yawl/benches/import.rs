//! Import time: the largest corpus file, the whole corpus, and generated YAWL nets of
//! 10 to 10,000 tasks (a sequence of atomic tasks, each with a starting and a completed
//! mapping, and an XOR split with a translated predicate every tenth task).

use std::fmt::Write;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use knhk_yawl::{ImportOptions, import};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/yawl-specs");

fn corpus() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for dir in std::fs::read_dir(CORPUS).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let path: PathBuf = file.path();
            if let Ok(text) = std::fs::read_to_string(&path) {
                files.push((path.display().to_string(), text));
            }
        }
    }
    files.sort();
    files
}

/// A 4.0 specification: a sequence of `n` atomic tasks `t0 .. t{n-1}`; every tenth
/// task XOR-splits on `/Net/x` between the next task and a skip to the one after.
fn generated(n: usize) -> String {
    let mut xml = String::from(
        r#"<specificationSet xmlns="http://www.yawlfoundation.org/yawlschema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="4.0">
<specification uri="generated"><metaData/>
<decomposition id="Net" isRootNet="true" xsi:type="NetFactsType">
<localVariable><index>0</index><name>x</name><type>long</type>
<namespace>http://www.w3.org/2001/XMLSchema</namespace><initialValue>0</initialValue></localVariable>
<processControlElements>
<inputCondition id="i"><flowsInto><nextElementRef id="t0"/></flowsInto></inputCondition>
"#,
    );
    let next = |k: usize| {
        if k < n {
            format!("t{k}")
        } else {
            "o".to_owned()
        }
    };
    for k in 0..n {
        let _ = write!(xml, r#"<task id="t{k}">"#);
        if k % 10 == 0 && k + 2 <= n {
            let _ = write!(
                xml,
                r#"<flowsInto><nextElementRef id="{}"/><predicate ordering="0">number(/Net/x/text()) &gt; {k}</predicate></flowsInto>
<flowsInto><nextElementRef id="{}"/><isDefaultFlow/></flowsInto><join code="xor"/><split code="xor"/>"#,
                next(k + 2),
                next(k + 1)
            );
        } else {
            let _ = write!(
                xml,
                r#"<flowsInto><nextElementRef id="{}"/></flowsInto><join code="xor"/><split code="and"/>"#,
                next(k + 1)
            );
        }
        let _ = write!(
            xml,
            r#"<startingMappings><mapping><expression query="&lt;x&gt;{{/Net/x/text()}}&lt;/x&gt;"/><mapsTo>x</mapsTo></mapping></startingMappings>
<completedMappings><mapping><expression query="&lt;x&gt;{{/W/x/text()}}&lt;/x&gt;"/><mapsTo>x</mapsTo></mapping></completedMappings>
<decomposesTo id="W"/></task>
"#
        );
    }
    xml.push_str(
        r#"<outputCondition id="o"/></processControlElements></decomposition>
<decomposition id="W" xsi:type="WebServiceGatewayFactsType">
<inputParam><index>0</index><name>x</name><type>long</type></inputParam>
<outputParam><index>0</index><name>x</name><type>long</type></outputParam>
</decomposition></specification></specificationSet>"#,
    );
    xml
}

fn benches(c: &mut Criterion) {
    let options = ImportOptions::lenient();
    let files = corpus();
    if let Some((_, largest)) = files.iter().max_by_key(|(_, text)| text.len()) {
        c.bench_function("import/largest corpus file (makeTrip3.xml)", |b| {
            b.iter(|| import(black_box(largest), &options))
        });
    }
    c.bench_function("import/whole corpus (30 files)", |b| {
        b.iter(|| {
            for (_, text) in &files {
                let _ = black_box(import(black_box(text), &options));
            }
        })
    });
    for n in [10, 100, 1_000, 10_000] {
        let xml = generated(n);
        let imported = import(&xml, &options).map(|i| i.spec);
        assert!(
            imported.is_ok_and(
                |spec| spec.nets[0].tasks.len() == n && knhk_model::validate(spec).is_ok()
            ),
            "generated net of {n} tasks does not import and validate"
        );
        c.bench_function(&format!("import/generated {n} tasks"), |b| {
            b.iter(|| import(black_box(&xml), &options))
        });
    }
}

criterion_group!(import_benches, benches);
criterion_main!(import_benches);
