import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A parsed XML element: enough DOM to query the report's structure in tests.
final class XMLNode {
    let name: String
    let attributes: [String: String]
    var children: [XMLNode] = []
    var text = ""
    weak var parent: XMLNode?

    init(name: String, attributes: [String: String]) {
        self.name = name
        self.attributes = attributes
    }

    var classes: Set<String> { Set((attributes["class"] ?? "").split(separator: " ").map(String.init)) }

    /// All text inside this element and its descendants.
    var allText: String { text + children.map(\.allText).joined() }

    /// This element and every descendant, depth first.
    var all: [XMLNode] { [self] + children.flatMap(\.all) }

    func elements(named name: String) -> [XMLNode] { all.filter { $0.name == name } }
    func elements(withClass token: String) -> [XMLNode] { all.filter { $0.classes.contains(token) } }
    func element(id: String) -> XMLNode? { all.first { $0.attributes["id"] == id } }
}

/// Parses `text` as XML with Foundation's XMLParser; throws with the parser's error and line.
func parseXML(_ text: String) throws -> XMLNode {
    let builder = TreeBuilder()
    let parser = XMLParser(data: Data(text.utf8))
    parser.delegate = builder
    parser.shouldResolveExternalEntities = false
    guard parser.parse(), let root = builder.root else {
        throw XMLCheckError(
            message: "\(parser.parserError.map { String(describing: $0) } ?? "no root") "
                + "at line \(parser.lineNumber), column \(parser.columnNumber)")
    }
    return root
}

struct XMLCheckError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
    var root: XMLNode?
    private var stack: [XMLNode] = []

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        let node = XMLNode(name: elementName, attributes: attributeDict)
        node.parent = stack.last
        stack.last?.children.append(node)
        if root == nil { root = node }
        stack.append(node)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        _ = stack.popLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        stack.last?.text += string
    }
}

/// Every `<svg …>…</svg>` fragment of an HTML text (the report never nests SVG elements).
func svgFragments(_ html: String) -> [String] {
    var fragments: [String] = []
    var rest = html[...]
    while let start = rest.range(of: "<svg"), let end = rest.range(of: "</svg>", range: start.upperBound..<rest.endIndex) {
        fragments.append(String(rest[start.lowerBound..<end.upperBound]))
        rest = rest[end.upperBound...]
    }
    return fragments
}
