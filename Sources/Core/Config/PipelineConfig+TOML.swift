import Foundation

extension PipelineConfig {
    /// Reads a pipeline from a TOML file (see DESIGN.md for its tables).
    public static func load(file path: String) throws -> PipelineConfig {
        try build(raw(file: path))
    }

    /// The tables of a TOML file, before they are checked.
    public static func raw(file path: String) throws -> Raw {
        let text: String
        do {
            text = try readTextFile(path)
        } catch {
            throw ConfigError(path, "cannot read the file: \(error.reason)")
        }
        return try raw(toml: text, name: path, baseDirectory: (absolutePath(path) as NSString).deletingLastPathComponent)
    }

    /// Reads a pipeline from TOML text; `name` stands for the file in errors.
    public static func parse(toml text: String, name: String) throws(ConfigError) -> PipelineConfig {
        try build(raw(toml: text, name: name))
    }

    /// The tables of TOML text, before they are checked, so the command line can add to
    /// them; relative paths in it start from `baseDirectory`, else the working directory.
    public static func raw(toml text: String, name: String, baseDirectory: String? = nil) throws(ConfigError) -> Raw {
        let document = try TOMLReader.read(text, name: name)
        var raw = Raw(topLevel: .init(values: document.topLevel, location: name, fromURL: false, baseDirectory: baseDirectory))
        for (table, values) in document.tables {
            raw.tables[table] = .init(values: values, location: "\(name) [\(table)]", fromURL: false, baseDirectory: baseDirectory)
        }
        return raw
    }
}
