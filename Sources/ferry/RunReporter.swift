import FerryCore
import Foundation
import Synchronization

/// Where a run's events go: a line per path on stderr (unless `--quiet`; with `detail`, a
/// line for every step of every path), one JSON object
/// per line on stdout with `--json` (and nothing else there), and, when stderr is a
/// terminal, a status line kept at the bottom: paths done of all, bytes in and out, rate,
/// time left, and copies waiting for memory.
final class RunReporter: Sendable {
    private let human: Bool
    private let detail: Bool
    private let json: Bool
    private let progress: Bool
    /// Nothing done under this lock may log: log records take it too (`log(_:)`).
    private let state = Mutex(Progress())

    private struct Progress {
        var total = 0, done = 0, failed = 0, waiting = 0
        /// Stored but not yet published: such a path may still fail (a reference failed).
        var stored: Set<StorePath> = []
        var narTotal: UInt64 = 0, fileDone: UInt64 = 0
        /// NAR bytes read so far, those of copies in progress too; set once ticking starts.
        var streamed: StreamedBytes?
        var start = ContinuousClock.now
        var statusShown = false
    }

    init(quiet: Bool, json: Bool, detail: Bool = false) {
        human = !quiet
        self.detail = detail && !quiet
        self.json = json
        progress = !quiet && isatty(2) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    /// Every event but the run's end, which `finish(_:)` reports once the exit code is
    /// known (a signal decides it, and only the command sees signals).
    func handle(_ event: CopyEvent) {
        if case .finished = event { return }
        if json { writeStdout(event.jsonLine) }
        state.withLock { state in
            record(event, in: &state)
            if human, let line = RunReporter.line(for: event) ?? (detail ? RunReporter.detailLine(for: event) : nil) {
                emit(line, state: &state)
            }
        }
    }

    /// Redraws the status line four times a second until cancelled; `waiting` reads how
    /// many copies wait for memory right now; `streamed` counts the NAR bytes read.
    func tick(waiting: @escaping @Sendable () async -> Int, streamed: StreamedBytes) -> Task<Void, Never>? {
        guard progress else { return nil }
        state.withLock { $0.streamed = streamed }
        return Task {
            while !Task.isCancelled {
                let count = await waiting()
                state.withLock { state in
                    state.waiting = count
                    draw(&state)
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// The summary: a `summary` event, and the text on stderr.
    func finish(_ summary: RunSummary) {
        if json { writeStdout(CopyEvent.finished(summary).jsonLine) }
        finish(summary.rendered)
    }

    /// A log record: on stderr above the status line, which is drawn again below it.
    func log(_ text: String) {
        state.withLock { state in emit(text, state: &state) }
    }

    /// Clears the status line, then prints `text` (the summary, an error) on stderr.
    func finish(_ text: String) {
        state.withLock { state in emit(text, state: &state, redraw: false) }
    }

    /// A run that could not start or stopped early: on stderr, and as an `error` event.
    func fail(_ text: String, exitCode: Int32) {
        if json { writeStdout(CopyEvent.errorLine(text, exitCode: exitCode)) }
        finish(text)
    }

    private func record(_ event: CopyEvent, in state: inout Progress) {
        switch event {
        case .planned(_, let toCopy, _, let bytes):
            state.total = toCopy
            state.narTotal = bytes
            state.start = .now
        case .stored(let nar, _, _):
            state.done += 1
            state.stored.insert(nar.info.path)
            state.fileDone += nar.fileSize ?? nar.info.narSize
        case .published(let path):
            state.stored.remove(path)
        case .failed(let path, _):
            state.failed += 1
            if state.stored.remove(path) != nil { state.done -= 1 }
        default:
            break
        }
    }

    private static func line(for event: CopyEvent) -> String? {
        switch event {
        case .planned(let closure, let toCopy, let skipped, let bytes):
            "copying \(toCopy) of \(closure) paths (\(skipped) already there), \(ByteSize.format(Int(bytes))) of NARs"
        case .stored(let nar, let seconds, _):
            "copied \(nar.info.path) (\(ByteSize.format(Int(nar.info.narSize)))"
                + (nar.fileSize.map { " → \(ByteSize.format(Int($0)))" } ?? "") + ", \(String(format: "%.2f", seconds)) s)"
        case .failed(let path, let error):
            "failed \(path): \(error)"
        case .retrying(let path, let attempt, let error, let wait):
            RetryPolicy.retryLine(path.path, attempt: attempt, error: error, wait: wait)
        case .skipped, .started, .published, .finished, .memoryWaited:
            nil
        }
    }

    /// The steps `-v` adds to the lines above.
    private static func detailLine(for event: CopyEvent) -> String? {
        switch event {
        case .skipped(let path):
            "already there \(path)"
        case .started(let path, let narSize):
            "starting \(path) (\(ByteSize.format(Int(narSize))))"
        case .memoryWaited(let path, let bytes, let seconds):
            "waited \(String(format: "%.2f", seconds)) s for \(ByteSize.format(bytes)) of memory: \(path)"
        case .published(let path):
            "published \(path)"
        default:
            nil
        }
    }

    private func emit(_ text: String, state: inout Progress, redraw: Bool = true) {
        var out = state.statusShown ? "\r\u{1B}[K" : ""
        state.statusShown = false
        out += text + "\n"
        writeStderr(out)
        if redraw { draw(&state) }
    }

    private func draw(_ state: inout Progress) {
        guard progress, state.total > 0 else { return }
        let seconds = max((ContinuousClock.now - state.start).seconds, 0.001)
        let narIn = state.streamed?.value ?? 0
        let rate = Double(narIn) / seconds
        var line = "[\(state.done + state.failed)/\(state.total) paths] \(ByteSize.format(Int(narIn)))"
            + " in → \(ByteSize.format(Int(state.fileDone))) out, \(ByteSize.format(Int(rate)))/s"
        if rate > 0, narIn < state.narTotal {
            let left = Int(Double(state.narTotal - narIn) / rate)
            line += ", ETA \(left / 60):\(String(format: "%02d", left % 60))"
        }
        if state.failed > 0 { line += ", \(state.failed) failed" }
        if state.waiting > 0 { line += ", \(state.waiting) waiting for memory" }
        writeStderr("\r\u{1B}[K" + line)
        state.statusShown = true
    }
}

func writeStderr(_ text: String) { write(text, to: STDERR_FILENO) }

func writeStdout(_ line: String) { write(line + "\n", to: STDOUT_FILENO) }

/// A reader that went away (`ferry … | head`, a log pipeline restarted) costs the output,
/// never the copy: FileHandle's write would crash on EPIPE.
private func write(_ text: String, to fd: Int32) {
    try? Array(text.utf8).withUnsafeBytes { try writeAll(fd, $0, subject: "") }
}

func printError(_ text: String) { writeStderr(text + "\n") }
