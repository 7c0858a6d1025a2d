"""Plan resources as CloudFormation, so that cfn-lint (AWS's own schemas) judges their values.

Only the mapping of property names lives here; values are passed through as the
program produced them, so a wrong enum, range, CIDR or policy grammar is
cfn-lint's finding, not ours.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import cfnlint.api

from tests.planning import Plan

Converter = Callable[[dict[str, Any], Plan], tuple[str, dict[str, Any]]]


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _bucket_policy(r: dict, plan: Plan) -> tuple[str, dict]:
    return "AWS::S3::BucketPolicy", {"Bucket": r["bucket"], "PolicyDocument": json.loads(r["policy"])}


def _role(r: dict, plan: Plan) -> tuple[str, dict]:
    return "AWS::IAM::Role", {
        "AssumeRolePolicyDocument": json.loads(r["assumeRolePolicy"]),
        "Description": r.get("description", ""),
        "Tags": _tags(r.get("tags", {})),
        **({"MaxSessionDuration": r["maxSessionDuration"]} if "maxSessionDuration" in r else {}),
    }


def _role_policy(r: dict, plan: Plan) -> tuple[str, dict]:
    return "AWS::IAM::RolePolicy", {
        "RoleName": r["role"],
        "PolicyName": "inline",
        "PolicyDocument": json.loads(r["policy"]),
    }


def _kms_key(r: dict, plan: Plan) -> tuple[str, dict]:
    return "AWS::KMS::Key", {
        "EnableKeyRotation": r["enableKeyRotation"],
        "Description": r["description"],
        "PendingWindowInDays": r["deletionWindowInDays"],
        "Tags": _tags(r["tags"]),
        **({"KeyPolicy": json.loads(r["policy"])} if "policy" in r else {}),
    }


def _bucket(r: dict, plan: Plan) -> tuple[str, dict]:
    return "AWS::S3::Bucket", {"BucketName": r["bucket"], "Tags": _tags(r["tags"])}


def _subnet(r: dict, plan: Plan) -> tuple[str, dict]:
    return "AWS::EC2::Subnet", {
        "VpcId": r["vpcId"],
        "CidrBlock": r["cidrBlock"],
        "AvailabilityZone": r["availabilityZone"],
        "MapPublicIpOnLaunch": r["mapPublicIpOnLaunch"],
        "Tags": _tags(r["tags"]),
    }


def _vpc(r: dict, plan: Plan) -> tuple[str, dict]:
    return "AWS::EC2::VPC", {
        "CidrBlock": r["cidrBlock"],
        "EnableDnsSupport": r["enableDnsSupport"],
        "EnableDnsHostnames": r["enableDnsHostnames"],
        "Tags": _tags(r["tags"]),
    }


def _endpoint(r: dict, plan: Plan) -> tuple[str, dict]:
    props = {"ServiceName": r["serviceName"], "VpcId": r["vpcId"], "VpcEndpointType": r["vpcEndpointType"]}
    for ours, theirs in (
        ("subnetIds", "SubnetIds"),
        ("routeTableIds", "RouteTableIds"),
        ("securityGroupIds", "SecurityGroupIds"),
        ("privateDnsEnabled", "PrivateDnsEnabled"),
    ):
        if ours in r:
            props[theirs] = r[ours]
    return "AWS::EC2::VPCEndpoint", props


def _flow_log(r: dict, plan: Plan) -> tuple[str, dict]:
    return "AWS::EC2::FlowLog", {
        "ResourceId": r["vpcId"],
        "ResourceType": "VPC",
        "TrafficType": r["trafficType"],
        "LogDestinationType": r["logDestinationType"],
        "LogDestination": r["logDestination"],
        "DeliverLogsPermissionArn": r["iamRoleArn"],
        "MaxAggregationInterval": r["maxAggregationInterval"],
        "Tags": _tags(r["tags"]),
    }


def _log_group(r: dict, plan: Plan) -> tuple[str, dict]:
    key = {"KmsKeyId": r["kmsKeyId"]} if "kmsKeyId" in r else {}
    return "AWS::Logs::LogGroup", {
        "LogGroupName": r["name"],
        "RetentionInDays": r["retentionInDays"],
        **key,
        "Tags": _tags(r["tags"]),
    }


def _rule(r: dict, peer: str) -> dict:
    props = {"GroupId": r["securityGroupId"], "IpProtocol": r["ipProtocol"], "Description": r["description"]}
    for ours, theirs in (
        ("fromPort", "FromPort"),
        ("toPort", "ToPort"),
        ("cidrIpv4", "CidrIp"),
        ("referencedSecurityGroupId", peer),
    ):
        if ours in r:
            props[theirs] = r[ours]
    return props


def _ingress(r: dict, plan: Plan) -> tuple[str, dict]:
    return "AWS::EC2::SecurityGroupIngress", _rule(r, "SourceSecurityGroupId")


def _egress(r: dict, plan: Plan) -> tuple[str, dict]:
    return "AWS::EC2::SecurityGroupEgress", _rule(r, "DestinationSecurityGroupId")


def _security_group(r: dict, plan: Plan) -> tuple[str, dict]:
    return "AWS::EC2::SecurityGroup", {
        "GroupDescription": r["description"],
        "VpcId": r["vpcId"],
        "Tags": _tags(r.get("tags", {})),
    }


def _launch_template(r: dict, plan: Plan) -> tuple[str, dict]:
    metadata = r["metadataOptions"]
    data: dict[str, Any] = {
        "MetadataOptions": {
            "HttpEndpoint": metadata["httpEndpoint"],
            "HttpTokens": metadata["httpTokens"],
            "HttpPutResponseHopLimit": metadata["httpPutResponseHopLimit"],
            "InstanceMetadataTags": metadata["instanceMetadataTags"],
        },
        "BlockDeviceMappings": [
            {
                "DeviceName": m["deviceName"],
                "Ebs": {
                    "VolumeSize": m["ebs"]["volumeSize"],
                    "VolumeType": m["ebs"]["volumeType"],
                    "Encrypted": m["ebs"]["encrypted"] == "true",
                    "DeleteOnTermination": m["ebs"]["deleteOnTermination"] == "true",
                },
            }
            for m in r["blockDeviceMappings"]
        ],
        "TagSpecifications": [
            {"ResourceType": s["resourceType"], "Tags": _tags(s["tags"])} for s in r["tagSpecifications"]
        ],
    }
    if "userData" in r:
        data["UserData"] = r["userData"]
    if "instanceMarketOptions" in r:
        data["InstanceMarketOptions"] = {"MarketType": r["instanceMarketOptions"]["marketType"]}
        target = r["capacityReservationSpecification"]["capacityReservationTarget"]
        data["CapacityReservationSpecification"] = {
            "CapacityReservationTarget": {"CapacityReservationId": target["capacityReservationId"]}
        }
    if "instanceType" in r:
        data["InstanceType"] = r["instanceType"]
    if "networkInterfaces" in r:
        data["NetworkInterfaces"] = [
            {
                "NetworkCardIndex": i["networkCardIndex"],
                "DeviceIndex": i["deviceIndex"],
                "InterfaceType": i["interfaceType"],
                "DeleteOnTermination": i["deleteOnTermination"] == "true",
                "Groups": i["securityGroups"],
            }
            for i in r["networkInterfaces"]
        ]
    if "placement" in r:
        data["Placement"] = {"GroupName": r["placement"]["groupName"]}
    return "AWS::EC2::LaunchTemplate", {"LaunchTemplateData": data}


def _schedule(r: dict, plan: Plan) -> tuple[str, dict]:
    return "AWS::AutoScaling::ScheduledAction", {
        "AutoScalingGroupName": r["autoscalingGroupName"],
        "StartTime": r["startTime"],
        "MinSize": r["minSize"],
        "DesiredCapacity": r["desiredCapacity"],
        "MaxSize": r["maxSize"],
    }


def _placement_group(r: dict, plan: Plan) -> tuple[str, dict]:
    return "AWS::EC2::PlacementGroup", {"Strategy": r["strategy"], "Tags": _tags(r.get("tags", {}))}


def _node_group(r: dict, plan: Plan) -> tuple[str, dict]:
    scaling = r["scalingConfig"]
    return "AWS::EKS::Nodegroup", {
        "ClusterName": "cluster",
        "NodeRole": r["nodeRoleArn"],
        "Subnets": r["subnetIds"],
        **({"InstanceTypes": r["instanceTypes"]} if "instanceTypes" in r else {}),
        "AmiType": r["amiType"],
        "CapacityType": r["capacityType"],
        "Version": r["version"],
        "NodeRepairConfig": {"Enabled": r["nodeRepairConfig"]["enabled"]},
        "ScalingConfig": {
            "MinSize": scaling["minSize"],
            "DesiredSize": scaling["desiredSize"],
            "MaxSize": scaling["maxSize"],
        },
        "Labels": r.get("labels", {}),
        "Taints": [{"Key": t["key"], "Value": t["value"], "Effect": t["effect"]} for t in r.get("taints", [])],
        "LaunchTemplate": {"Id": r["launchTemplate"]["id"], "Version": r["launchTemplate"]["version"]},
        "Tags": r.get("tags", {}),
    }


def _cluster(r: dict, plan: Plan) -> tuple[str, dict]:
    """The EKS cluster pulumi-eks registers (its inputs as the engine records them)."""
    vpc_in = r["vpcConfig"]
    vpc: dict[str, Any] = {
        "SubnetIds": vpc_in["subnetIds"],
        "EndpointPrivateAccess": vpc_in["endpointPrivateAccess"],
        "EndpointPublicAccess": vpc_in["endpointPublicAccess"],
    }
    if "publicAccessCidrs" in vpc_in:
        vpc["PublicAccessCidrs"] = vpc_in["publicAccessCidrs"]
    access = r["accessConfig"]
    return "AWS::EKS::Cluster", {
        "Name": r["name"],
        "Version": r["version"],
        "RoleArn": r["roleArn"],
        "ResourcesVpcConfig": vpc,
        "AccessConfig": {
            "AuthenticationMode": access["authenticationMode"],
            "BootstrapClusterCreatorAdminPermissions": access["bootstrapClusterCreatorAdminPermissions"],
        },
        "BootstrapSelfManagedAddons": r["bootstrapSelfManagedAddons"],
        "EncryptionConfig": [
            {
                "Provider": {"KeyArn": r["encryptionConfig"]["provider"]["keyArn"]},
                "Resources": r["encryptionConfig"]["resources"],
            }
        ],
        "Logging": {"ClusterLogging": {"EnabledTypes": [{"Type": t} for t in r["enabledClusterLogTypes"]]}},
        "UpgradePolicy": {"SupportType": r["upgradePolicy"]["supportType"]},
        "Tags": _tags(r.get("tags", {})),
    }


def _access_entry(r: dict, plan: Plan) -> tuple[str, dict]:
    return "AWS::EKS::AccessEntry", {
        "ClusterName": r["clusterName"],
        "PrincipalArn": r["principalArn"],
        "Tags": _tags(r.get("tags", {})),
    }


def _addon(r: dict, plan: Plan) -> tuple[str, dict]:
    role = {"ServiceAccountRoleArn": r["serviceAccountRoleArn"]} if "serviceAccountRoleArn" in r else {}
    extra = {"PreserveOnDelete": r["preserve"]} if "preserve" in r else {}
    if "configurationValues" in r:
        extra["ConfigurationValues"] = r["configurationValues"]
    return "AWS::EKS::Addon", {
        "ClusterName": r["clusterName"],
        "AddonName": r["addonName"],
        "AddonVersion": r["addonVersion"],
        **role,
        **extra,
        "ResolveConflicts": r["resolveConflictsOnCreate"],
        "Tags": _tags(r["tags"]),
    }


CONVERTERS: dict[str, Converter] = {
    "aws:s3/bucketPolicy:BucketPolicy": _bucket_policy,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:kms/key:Key": _kms_key,
    "aws:ec2/subnet:Subnet": _subnet,
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _endpoint,
    "aws:ec2/flowLog:FlowLog": _flow_log,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _ingress,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _egress,
    "aws:ec2/securityGroup:SecurityGroup": _security_group,
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:ec2/placementGroup:PlacementGroup": _placement_group,
    "aws:autoscaling/schedule:Schedule": _schedule,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:eks/cluster:Cluster": _cluster,
    "aws:eks/accessEntry:AccessEntry": _access_entry,
    "aws:eks/addon:Addon": _addon,
}


def template(plan: Plan, types: set[str] | None = None) -> dict[str, Any]:
    """A CloudFormation template holding every plan resource of the converted types."""
    resources = {}
    for i, r in enumerate(plan.resources):
        if r["type"] in CONVERTERS and (types is None or r["type"] in types):
            cfn_type, props = CONVERTERS[r["type"]](r["inputs"], plan)
            resources[f"R{i}"] = {"Type": cfn_type, "Properties": props}
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


def findings(document: dict[str, Any], region: str) -> list[str]:
    """cfn-lint's errors and warnings for a template, one line each."""
    matches = cfnlint.api.lint(json.dumps(document), config=cfnlint.api.ManualArgs(regions=[region]))
    return [
        f"{m.rule.id} {m.path_string if hasattr(m, 'path_string') else m.path}: {m.message}"
        for m in matches
        if m.rule.id[0] in "EW"
    ]
