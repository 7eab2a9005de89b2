import Foundation
import Logging

/// Log records on stderr in swift-log's stream format, but through the run's reporter:
/// the status line is cleared before a record and drawn again after it, so a warning is
/// never glued to the end of the line.
struct ReporterLogHandler: LogHandler {
    let label: String
    let reporter: RunReporter
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = metadata.merging(event.metadata ?? [:]) { $1 }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        reporter.log("\(Self.timestamp()) \(event.level) \(label):" + fields.map { " " + $0 }.joined() + " [\(event.source)] \(event.message)")
    }

    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var text = [CChar](repeating: 0, count: 32)
        strftime(&text, text.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(cString: text)
    }
}
