"""Network: a VPC over several AZs with private subnets for nodes.

Nodes live in private subnets and reach AWS APIs (ECR, STS, Logs, EC2, S3)
through VPC endpoints, so images and credentials never cross the internet;
NAT gateways carry the rest. Flow logs record traffic for incident response.
"""

from __future__ import annotations

import ipaddress

import pulumi
import pulumi_aws as aws
from gpu_platform.components import addressing, iam
from gpu_platform.components.config import NatGateways, NetworkConfig
from gpu_platform.components.labels import CostLabels

HTTPS = 443


def flow_log_group_name(network_name: str) -> str:
    return f"/aws/vpc-flow-logs/{network_name}"


class Network(pulumi.ComponentResource):
    """A VPC with a public and a private subnet per AZ, NAT, endpoints and flow logs."""

    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]
    availability_zones: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        config: NetworkConfig,
        region: str,
        labels: CostLabels,
        log_key_arn: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("gpu-platform:index:Network", name, None, opts)
        self._name, self._labels = name, labels
        child = pulumi.ResourceOptions(parent=self)
        vpc_cidr = ipaddress.IPv4Network(config.vpc_cidr)
        layout = addressing.subnet_layout(vpc_cidr, config.az_count)
        zones = self._availability_zones(config.az_count)

        vpc = aws.ec2.Vpc(
            name,
            cidr_block=config.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=self._tags(name),
            opts=child,
        )
        # CIS AWS 5.4: the default security group allows nothing.
        aws.ec2.DefaultSecurityGroup(f"{name}-default", vpc_id=vpc.id, tags=self._tags(f"{name}-default"), opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=self._tags(f"{name}-igw"), opts=child)

        public = [
            self._subnet(f"{name}-public-{i}", vpc, cidr, zones[i], "kubernetes.io/role/elb")
            for i, cidr in enumerate(layout.public)
        ]
        private = [
            self._subnet(f"{name}-private-{i}", vpc, cidr, zones[i], "kubernetes.io/role/internal-elb")
            for i, cidr in enumerate(layout.private)
        ]

        self._route_table(f"{name}-public", vpc, public, gateway_id=igw.id)
        nat_count = config.az_count if config.nat_gateways == NatGateways.PER_AZ else 1
        nats = [self._nat_gateway(f"{name}-nat-{i}", public[i], igw) for i in range(nat_count)]
        private_routes = [
            self._route_table(f"{name}-private-{i}", vpc, [subnet], nat_gateway_id=nats[i % nat_count].id)
            for i, subnet in enumerate(private)
        ]

        self._endpoints(config, region, vpc, vpc_cidr, private, private_routes)
        if config.flow_logs.enabled:
            self._flow_logs(config, region, vpc, log_key_arn)

        self.vpc_id = vpc.id
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private])
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public])
        self.availability_zones = pulumi.Output.all(*zones)
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "privateSubnetIds": self.private_subnet_ids,
                "publicSubnetIds": self.public_subnet_ids,
                "availabilityZones": self.availability_zones,
            }
        )

    def private_subnets_in(self, zone: str, where: str) -> pulumi.Output[list[str]]:
        """The private subnet of one of this network's AZs; an error naming `where` (a config path) if the
        network has no subnet there."""

        def position(zones: list[str]) -> int:
            # The AZs come from a lookup, known at preview: a wrong zone stops `pulumi preview`, not `up`.
            if zone not in zones:
                raise pulumi.RunError(
                    f"{where}: {zone} is not one of this stack's AZs ({', '.join(zones)}); "
                    "use one of them, or raise network.azCount to reach it"
                )
            return zones.index(zone)

        index = self.availability_zones.apply(position)
        return pulumi.Output.all(index, self.private_subnet_ids).apply(lambda found: [found[1][found[0]]])

    def _tags(self, name: str | pulumi.Output[str], extra: dict[str, str] | None = None):
        if isinstance(name, pulumi.Output):
            return name.apply(lambda n: self._labels.aws_tags(n, extra=extra))
        return self._labels.aws_tags(name, extra=extra)

    def _availability_zones(self, count: int) -> list[pulumi.Output[str]]:
        """The first `count` AZs of the region that need no opt-in, as the region reports them."""
        found = aws.get_availability_zones_output(
            state="available",
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )

        def enough(names: list[str]) -> list[str]:
            if len(names) < count:
                raise pulumi.RunError(
                    f"platform.network.azCount: the region has {len(names)} AZs without opt-in "
                    f"({', '.join(names)}); ask for {len(names)} or fewer"
                )
            return sorted(names)[:count]

        names = found.names.apply(enough)
        return [names.apply(lambda n, i=i: n[i]) for i in range(count)]

    def _subnet(
        self, name: str, vpc: aws.ec2.Vpc, cidr: ipaddress.IPv4Network, zone: pulumi.Output[str], elb_role_tag: str
    ) -> aws.ec2.Subnet:
        return aws.ec2.Subnet(
            name,
            vpc_id=vpc.id,
            cidr_block=str(cidr),
            availability_zone=zone,
            map_public_ip_on_launch=False,
            tags=self._tags(zone.apply(lambda z: f"{name}-{z}"), {elb_role_tag: "1"}),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _route_table(
        self, name: str, vpc: aws.ec2.Vpc, subnets: list[aws.ec2.Subnet], **default_route
    ) -> aws.ec2.RouteTable:
        child = pulumi.ResourceOptions(parent=self)
        table = aws.ec2.RouteTable(name, vpc_id=vpc.id, tags=self._tags(name), opts=child)
        aws.ec2.Route(
            f"{name}-default", route_table_id=table.id, destination_cidr_block="0.0.0.0/0", opts=child, **default_route
        )
        for i, subnet in enumerate(subnets):
            aws.ec2.RouteTableAssociation(f"{name}-{i}", route_table_id=table.id, subnet_id=subnet.id, opts=child)
        return table

    def _nat_gateway(self, name: str, subnet: aws.ec2.Subnet, igw: aws.ec2.InternetGateway) -> aws.ec2.NatGateway:
        child = pulumi.ResourceOptions(parent=self)
        eip = aws.ec2.Eip(f"{name}-eip", domain="vpc", tags=self._tags(f"{name}-eip"), opts=child)
        return aws.ec2.NatGateway(
            name,
            allocation_id=eip.allocation_id,
            subnet_id=subnet.id,
            connectivity_type="public",
            tags=self._tags(name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
        )

    def _endpoints(
        self,
        config: NetworkConfig,
        region: str,
        vpc: aws.ec2.Vpc,
        vpc_cidr: ipaddress.IPv4Network,
        private: list[aws.ec2.Subnet],
        private_routes: list[aws.ec2.RouteTable],
    ) -> None:
        """S3 through a gateway endpoint; other AWS APIs through interface endpoints over HTTPS."""
        child = pulumi.ResourceOptions(parent=self)
        aws.ec2.VpcEndpoint(
            f"{self._name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in private_routes],
            tags=self._tags(f"{self._name}-s3"),
            opts=child,
        )
        if not config.interface_endpoints:
            return
        security_group = aws.ec2.SecurityGroup(
            f"{self._name}-endpoints",
            vpc_id=vpc.id,
            description="HTTPS from the VPC to AWS interface endpoints",
            tags=self._tags(f"{self._name}-endpoints"),
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-endpoints-https",
            security_group_id=security_group.id,
            description="HTTPS from inside the VPC",
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            cidr_ipv4=str(vpc_cidr),
            tags=self._tags(f"{self._name}-endpoints-https"),
            opts=child,
        )
        for service in config.interface_endpoints:
            endpoint_name = f"{self._name}-{service.replace('.', '-')}"
            aws.ec2.VpcEndpoint(
                endpoint_name,
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in private],
                security_group_ids=[security_group.id],
                tags=self._tags(endpoint_name),
                opts=child,
            )

    def _flow_logs(
        self, config: NetworkConfig, region: str, vpc: aws.ec2.Vpc, key_arn: pulumi.Input[str] | None
    ) -> None:
        """Flow logs to CloudWatch Logs through a role that may write to that one log group."""
        child = pulumi.ResourceOptions(parent=self)
        name = f"{self._name}-flow-logs"
        log_group = aws.cloudwatch.LogGroup(
            name,
            name=flow_log_group_name(self._name),
            kms_key_id=key_arn,
            retention_in_days=config.flow_logs.retention_days,
            tags=self._tags(name),
            opts=child,
        )
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        trust = pulumi.Output.all(partition, account).apply(
            lambda args: iam.service_trust(
                "vpc-flow-logs.amazonaws.com",
                {
                    "StringEquals": {"aws:SourceAccount": args[1]},
                    "ArnLike": {"aws:SourceArn": f"arn:{args[0]}:ec2:{region}:{args[1]}:vpc-flow-log/*"},
                },
            )
        )
        role = aws.iam.Role(
            name,
            assume_role_policy=trust,
            description="VPC flow logs to CloudWatch Logs",
            tags=self._tags(name),
            opts=child,
        )
        aws.iam.RolePolicy(
            name,
            role=role.id,
            policy=log_group.arn.apply(
                lambda arn: iam.document(
                    iam.allow(
                        ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                        [arn, f"{arn}:*"],
                        sid="WriteFlowLogs",
                    ),
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            name,
            vpc_id=vpc.id,
            traffic_type=config.flow_logs.traffic_type.value,
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=self._tags(name),
            opts=child,
        )
