"""Case orchestration: one Temporal workflow per case (workflow id = case id), driven
by the modules' events through a signal bridge, emitting its commands as events."""

NAME = "orchestration"
PREFIX = "/ablauf"
TITLE = "Ablaufsteuerung"
