import Foundation

/// `--json`: each event as one line of JSON, with the field names README documents.
/// Names are stable; new fields may be added, none renamed or removed.
extension CopyEvent {
    public var jsonObject: [String: Any] {
        switch self {
        case .planned(let closure, let toCopy, let skipped, let narBytes):
            return ["event": "plan", "closure": closure, "to_copy": toCopy, "skipped": skipped, "nar_bytes": narBytes]
        case .skipped(let path):
            return ["event": "skipped", "path": path.path]
        case .started(let path, let narSize):
            return ["event": "started", "path": path.path, "nar_size": narSize]
        case .stored(let nar, let seconds, let memoryWait):
            return ["event": "copied", "path": nar.info.path.path, "nar_size": nar.info.narSize,
                    "nar_hash": nar.info.narHash.description, "file_size": nar.fileSize.map { $0 as Any } ?? NSNull(),
                    "file_hash": nar.fileHash.map { $0.description as Any } ?? NSNull(),
                    "compression": nar.compression.map { $0 as Any } ?? NSNull(),
                    "seconds": seconds, "memory_wait_seconds": memoryWait]
        case .memoryWaited(let path, let bytes, let seconds):
            return ["event": "memory_wait", "path": path.path, "bytes": bytes, "seconds": seconds]
        case .published(let path):
            return ["event": "published", "path": path.path]
        case .failed(let path, let error):
            return ["event": "failed", "path": path.path, "error": error]
        case .retrying(let path, let attempt, let error, let wait):
            return ["event": "retry", "path": path.path, "attempt": attempt, "error": error,
                    "wait_seconds": wait.seconds]
        case .finished(let summary):
            return summary.jsonObject
        }
    }

    /// The event as one line of JSON, keys sorted, without the newline.
    public var jsonLine: String { CopyEvent.jsonLine(jsonObject) }

    /// The `error` event of a run that could not start or stopped early.
    public static func errorLine(_ text: String, exitCode: Int32) -> String {
        jsonLine(["event": "error", "error": text, "exit_code": Int(exitCode)])
    }

    public static func jsonLine(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

extension RunSummary {
    public var jsonObject: [String: Any] {
        ["event": "summary", "closure": closureSize, "copied": copied, "skipped": skipped,
         "failed": failed.map { ["path": $0.path.path, "error": $0.error] },
         "nar_bytes": narBytes, "file_bytes": fileBytes,
         "compression_ratio": compressionRatio.map { $0 as Any } ?? NSNull(),
         "seconds": wallTime.seconds, "memory_budget_bytes": limiter.budget,
         "memory_peak_bytes": limiter.peak, "memory_waits": limiter.waits,
         "memory_wait_seconds": limiter.totalWaited.seconds, "exit_code": Int(exitCode),
         "interrupted": interrupted]
    }
}
