"""A reflection-only client (what grpcurl is) accepts ``aalps examples NAME --format proto-json``.

The client here has no generated code: it learns ``aalps.v1`` from the server's reflection
service, builds the request class from the descriptors it received, parses the printed JSON
with protobuf's own parser, and calls ``Optimize`` with raw bytes (issue 13).
"""

from __future__ import annotations

import grpc
import pytest
from aalps.client.cli import main
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


def test_proto_json_is_accepted_by_a_reflection_only_client(
    channel: grpc.Channel, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["examples", "k_task_routing", "--format", "proto-json"]) == 0
    text = capsys.readouterr().out
    pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
    service = pool.FindServiceByName("aalps.v1.AalpsService")
    method = service.FindMethodByName("Optimize")
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    request = json_format.Parse(text, request_class())  # grpcurl -d @ does exactly this
    call = channel.unary_unary(
        "/aalps.v1.AalpsService/Optimize",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_class.FromString,
    )
    response = call(request, timeout=60)
    # the paper's §3.1 answer (Meyerson & Qiu): ROUTE at Θ(m_s·n), DIRECT at Θ(k·m_s·n)
    assert response.plan.bound.text == "m_s*n"
    assert response.baseline.bound.text == "k*m_s*n"
