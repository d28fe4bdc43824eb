/// What every class answers alike: `get_all`, `get_all_records`,
/// `get_record`, `get_by_uuid`, `get_by_name_label` (where records have a
/// name), and a getter per field (`get_<field>`).
struct ClassSpec {
    /// XAPI's class name (`VM`, `VBD`, `host_metrics`).
    let name: String
    /// The record's fields, each with its getter.
    let fields: [String]
    /// Every object: its reference and record (called with the toolstack's lock held).
    let all: () throws(XenAPIError) -> [(ref: String, record: [String: XenAPIValue])]
    /// One object's record; nil when `ref` names none (called with the lock held).
    let one: (String) throws(XenAPIError) -> [String: XenAPIValue]?
}

extension XenAPISurface {
    func registerClass(_ spec: ClassSpec) {
        let cls = spec.name
        func record(_ call: Call) throws(XenAPIError) -> [String: XenAPIValue] {
            let ref = try call.args.string(0, "self")
            guard let record = try spec.one(ref) else { throw .handleInvalid(cls, ref) }
            return record
        }
        register(cls + ".get_all", []) { _ throws(XenAPIError) in
            .array(try spec.all().map { .string($0.ref) })
        }
        register(cls + ".get_all_records", []) { _ throws(XenAPIError) in
            var out: [String: XenAPIValue] = [:]
            for (ref, rec) in try spec.all() { out[ref] = .struct(rec) }
            return .struct(out)
        }
        register(cls + ".get_record", ["self"]) { call throws(XenAPIError) in .struct(try record(call)) }
        register(cls + ".get_by_uuid", ["uuid"]) { call throws(XenAPIError) in
            let uuid = try call.args.string(0, "uuid")
            guard let found = try spec.all().first(where: { $0.record["uuid"] == .string(uuid) }) else {
                throw .uuidInvalid(cls, uuid)
            }
            return .string(found.ref)
        }
        if spec.fields.contains("name_label") {
            register(cls + ".get_by_name_label", ["label"]) { call throws(XenAPIError) in
                let label = try call.args.string(0, "label")
                return .array(try spec.all().filter { $0.record["name_label"] == .string(label) }.map { .string($0.ref) })
            }
        }
        for field in spec.fields {
            register(cls + ".get_" + field, ["self"]) { call throws(XenAPIError) in
                guard let value = try record(call)[field] else { throw .internalError("\(cls).\(field) missing") }
                return value
            }
        }
    }
}
