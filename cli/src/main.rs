//! Temporary entry point (the full CLI replaces it): `cofre server [-dev] [-config FILE]`.
fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args
        .first()
        .is_some_and(|a| a == "--version" || a == "version" || a == "-version")
    {
        println!("Cofre v{}", cofre_server::VERSION);
        return Ok(());
    }
    let mut options = cofre_server::ServerOptions::default();
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let arg = arg.trim_start_matches('-');
        let (name, value) = match arg.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (arg.to_string(), None),
        };
        match name.as_str() {
            "dev" => options.dev = true,
            "config" => {
                options.config_path = value.or_else(|| iter.next().cloned()).map(Into::into)
            }
            "dev-root-token-id" => {
                options.dev_root_token_id = value.or_else(|| iter.next().cloned())
            }
            "dev-listen-address" => {
                options.dev_listen_address = value.or_else(|| iter.next().cloned())
            }
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(cofre_server::run_from_cli(options))?;
    Ok(())
}
