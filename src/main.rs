fn main() {
    std::process::exit(tgw_vip::app::main());
}
