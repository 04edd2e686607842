"""Fixed replies of runtime-API commands whose 2.6.12 output does not depend on our state.

They were captured from Debian's HAProxy 2.6.12 (observable output) on a process without maps, ACL
files, stick tables, SSL, peers or caches, which is what haproxy-py runs; the reply bodies below
exclude the final empty line that every command gets.
"""

from __future__ import annotations

#: ``show schema json``
SCHEMA_JSON = '{"$schema":"http://json-schema.org/draft-04/schema#","oneOf":[{"title":"Info","type":"array","items":{"title":"InfoItem","type":"object","properties":{"field":{"$ref":"#/definitions/field"},"processNum":{"$ref":"#/definitions/processNum"},"tags":{"$ref":"#/definitions/tags"},"value":{"$ref":"#/definitions/typedValue"}},"required":["field","processNum","tags","value"]}},{"title":"Stat","type":"array","items":{"title":"InfoItem","type":"object","properties":{"objType":{"enum":["Frontend","Backend","Listener","Server","Unknown"]},"proxyId":{"type":"integer","minimum":0},"id":{"type":"integer","minimum":0},"field":{"$ref":"#/definitions/field"},"processNum":{"$ref":"#/definitions/processNum"},"tags":{"$ref":"#/definitions/tags"},"typedValue":{"$ref":"#/definitions/typedValue"}},"required":["objType","proxyId","id","field","processNum","tags","value"]}},{"title":"Error","type":"object","properties":{"errorStr":{"type":"string"}},"required":["errorStr"]}],"definitions":{"field":{"type":"object","pos":{"type":"integer","minimum":0},"name":{"type":"string"},"required":["pos","name"]},"processNum":{"type":"integer","minimum":1},"tags":{"type":"object","origin":{"type":"string","enum":["Metric","Status","Key","Config","Product","Unknown"]},"nature":{"type":"string","enum":["Gauge","Limit","Min","Max","Rate","Counter","Duration","Age","Time","Name","Output","Avg", "Unknown"]},"scope":{"type":"string","enum":["Cluster","Process","Service","System","Unknown"]},"required":["origin","nature","scope"]},"typedValue":{"type":"object","oneOf":[{"$ref":"#/definitions/typedValue/definitions/s32Value"},{"$ref":"#/definitions/typedValue/definitions/s64Value"},{"$ref":"#/definitions/typedValue/definitions/u32Value"},{"$ref":"#/definitions/typedValue/definitions/u64Value"},{"$ref":"#/definitions/typedValue/definitions/strValue"}],"definitions":{"s32Value":{"properties":{"type":{"type":"string","enum":["s32"]},"value":{"type":"integer","minimum":-2147483648,"maximum":2147483647}},"required":["type","value"]},"s64Value":{"properties":{"type":{"type":"string","enum":["s64"]},"value":{"type":"integer","minimum":-9007199254740991,"maximum":9007199254740991}},"required":["type","value"]},"u32Value":{"properties":{"type":{"type":"string","enum":["u32"]},"value":{"type":"integer","minimum":0,"maximum":4294967295}},"required":["type","value"]},"u64Value":{"properties":{"type":{"type":"string","enum":["u64"]},"value":{"type":"integer","minimum":0,"maximum":9007199254740991}},"required":["type","value"]},"strValue":{"properties":{"type":{"type":"string","enum":["str"]},"value":{"type":"string"}},"required":["type","value"]},"unknownValue":{"properties":{"type":{"type":"integer","minimum":0},"value":{"type":"string","enum":["unknown"]}},"required":["type","value"]}}}}}\n'

#: ``show trace`` (no argument)
SHOW_TRACE = (
    "Supported trace sources and states (.=stopped, w=waiting, R=running) :\n"
    " [.] h2         -> none [drp 0]  [HTTP/2 multiplexer]\n"
    " [.] fcgi       -> none [drp 0]  [FastCGI multiplexer]\n"
    " [.] h1         -> none [drp 0]  [HTTP/1 multiplexer]\n"
    " [.] stream     -> none [drp 0]  [Applicative stream]\n"
    " [.] peers      -> none [drp 0]  [Peers protocol]\n"
    " [.] check      -> none [drp 0]  [Health-check]\n"
    " [.] pt         -> none [drp 0]  [Passthrough multiplexer]\n"
)
#: ``trace`` (no argument)
TRACE = (
    "Supported trace sources and states (.=stopped, w=waiting, R=running) :\n"
    " [.] 0          : not a source, will immediately stop all traces\n"
    " [.] h2         : HTTP/2 multiplexer\n"
    " [.] fcgi       : FastCGI multiplexer\n"
    " [.] h1         : HTTP/1 multiplexer\n"
    " [.] stream     : Applicative stream\n"
    " [.] peers      : Peers protocol\n"
    " [.] check      : Health-check\n"
    " [.] pt         : Passthrough multiplexer\n"
)
SHOW_EVENTS = (
    "Supported events sinks are listed below. Add -w(wait), -n(new). Any key to stop\n"
    "    stdout     : type=fd, 0 dropped, standard output (fd#1)\n"
    "    stderr     : type=fd, 0 dropped, standard output (fd#2)\n"
    "    buf0       : type=buffer, 0 dropped, in-memory ring buffer\n"
)
PROFILING_HEAD = (
    "Per-task CPU profiling              : {tasks:<14}# set profiling tasks {{on|auto|off}}\n"
    "Memory usage profiling              : {memory:<14}# set profiling memory {{on|off}}\n"
    "Tasks activity:\n"
    "  function                      calls   cpu_tot   cpu_avg   lat_tot   lat_avg\n"
)
SHOW_TASKS = "Running tasks: 0 ({threads} threads)\n  function                     places     %    lat_tot   lat_avg\n"

UNKNOWN_MAP = "Unknown map identifier. Please use #<id> or <file>.\n"
UNKNOWN_ACL = "Unknown ACL identifier. Please use #<id> or <file>.\n"
NO_TABLE = "No such table\n"
