// The scheduler's keys of xl.cfg, kept in `platform` as written and read
// here as numbers for the toolstack.

extension DomainConfiguration {
    /// `cpu_weight`: the domain's weight under the credit schedulers; nil when unset.
    public var schedWeight: Int? { platform["cpu_weight"].flatMap(parseCInteger) }
    /// `cap`: the most CPU the domain may use, in percent of one CPU; nil when unset.
    public var schedCap: Int? { platform["cap"].flatMap(parseCInteger) }

    /// The keys xl reads as C `long`s for the scheduler
    /// (`xlu_cfg_get_long`): a value that is not a number is warned about
    /// and ignored, as xl does.
    static let schedulerNumberKeys = ["cpu_weight", "cap"]
}

extension DomainConfiguration {
    /// Every xl.cfg (and xm) key the config reader knows; others are warned about as unknown.
    public static let knownKeys: Set<String> = Set(allKnownKeys)
}
