"""The services the reference portal offers, their fees, forms and attachments.

Six procedures that matter for load on the National Public Service Portal (see
``shared/domain.md``): the two of the portal's first months (promotion notifications
and driving-licence renewals), passports, vehicle registration, the tax-settlement
peak and a Project 06 linked bundle. Fees are in VND; each says where it comes from
or that it is illustrative. Agency codes (two digits, the middle of a dossier code)
are illustrative: the portal's real code table is not public in our sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FieldType = Literal["text", "date", "select", "number"]
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class FormField:
    """One input of a service's form."""

    name: str
    label: str
    type: FieldType
    required: bool = True
    options: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "required": self.required,
        }
        if self.type == "select":
            out["options"] = list(self.options)
        return out


@dataclass(frozen=True)
class AttachmentSpec:
    """One document a dossier may (or must) carry."""

    kind: str
    label: str
    required: bool
    max_bytes: int = MAX_ATTACHMENT_BYTES

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "required": self.required,
            "max_bytes": self.max_bytes,
        }


@dataclass(frozen=True)
class Service:
    """A public service (thủ tục hành chính) as the catalogue lists it."""

    code: str
    name: str
    group: str
    agency_code: str
    fee_vnd: int
    fully_online: bool
    fields: tuple[FormField, ...] = field(default=())
    attachments: tuple[AttachmentSpec, ...] = field(default=())

    def summary(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "group": self.group,
            "agency_code": self.agency_code,
            "fee_vnd": self.fee_vnd,
            "fully_online": self.fully_online,
        }

    def form(self) -> dict[str, Any]:
        return {
            "service_code": self.code,
            "fields": [f.as_dict() for f in self.fields],
            "attachments": [a.as_dict() for a in self.attachments],
        }

    def field_named(self, name: str) -> FormField | None:
        return next((f for f in self.fields if f.name == name), None)


COMMON_FIELDS: tuple[FormField, ...] = (
    FormField("full_name", "Họ và tên", "text"),
    FormField("cccd", "Số định danh cá nhân", "text"),
    FormField("date_of_birth", "Ngày sinh", "date"),
    FormField("phone", "Số điện thoại", "text"),
    FormField("email", "Thư điện tử", "text", required=False),
    FormField("address", "Địa chỉ thường trú", "text"),
)

# The 15 classes of the Law on Road Traffic Order and Safety 2024, art. 57.
LICENCE_CLASSES = (
    "A1",
    "A",
    "B1",
    "B",
    "C1",
    "C",
    "D1",
    "D2",
    "D",
    "BE",
    "C1E",
    "CE",
    "D1E",
    "D2E",
    "DE",
)


def _service(
    code: str,
    name: str,
    group: str,
    agency_code: str,
    *,
    fee_vnd: int,
    fully_online: bool,
    fields: tuple[FormField, ...],
    attachments: tuple[AttachmentSpec, ...],
) -> Service:
    return Service(
        code, name, group, agency_code, fee_vnd, fully_online, COMMON_FIELDS + fields, attachments
    )


SERVICES: tuple[Service, ...] = (
    _service(
        "driving-licence-renewal",
        "Cấp đổi giấy phép lái xe",
        "transport",
        "15",
        # VND 135,000: the example fee of domain.md (seed 003, PayGov).
        fee_vnd=135_000,
        fully_online=True,
        fields=(
            FormField("licence_number", "Số giấy phép lái xe", "text"),
            FormField("licence_class", "Hạng giấy phép lái xe", "select", options=LICENCE_CLASSES),
            FormField("licence_expiry", "Ngày hết hạn", "date", required=False),
        ),
        attachments=(
            AttachmentSpec("health-certificate", "Giấy khám sức khỏe người lái xe", True),
            AttachmentSpec("licence-scan", "Bản chụp giấy phép lái xe", False),
        ),
    ),
    _service(
        "passport",
        "Cấp hộ chiếu phổ thông",
        "identity",
        "12",
        # VND 200,000: the figure given for an ordinary passport in the portal's brief;
        # not in domain.md's sources, so treat it as illustrative.
        fee_vnd=200_000,
        fully_online=True,
        fields=(
            FormField(
                "delivery", "Hình thức nhận kết quả", "select", options=("Trực tiếp", "Bưu điện")
            ),
            FormField("previous_passport_number", "Số hộ chiếu cũ", "text", required=False),
        ),
        attachments=(AttachmentSpec("portrait-photo", "Ảnh chân dung 4x6", True),),
    ),
    _service(
        "vehicle-registration",
        "Đăng ký xe",
        "transport",
        "13",
        # VND 150,000: illustrative (the real fee depends on the vehicle and the place).
        fee_vnd=150_000,
        fully_online=False,
        fields=(
            FormField("vehicle_type", "Loại xe", "select", options=("Xe mô tô", "Xe ô tô")),
            FormField("brand", "Nhãn hiệu", "text"),
            FormField("engine_number", "Số máy", "text"),
            FormField("chassis_number", "Số khung", "text"),
        ),
        attachments=(
            AttachmentSpec("invoice", "Hóa đơn mua xe", True),
            AttachmentSpec("customs-certificate", "Tờ khai nguồn gốc xe nhập khẩu", False),
        ),
    ),
    _service(
        "promotion-notification",
        "Thông báo thực hiện khuyến mại",
        "commerce",
        "20",
        # No fee: a notification, not a licence (the most filed service of the
        # portal's first months, domain.md seed 003).
        fee_vnd=0,
        fully_online=True,
        fields=(
            FormField("business_name", "Tên thương nhân", "text"),
            FormField("tax_code", "Mã số thuế", "text"),
            FormField("promotion_start", "Ngày bắt đầu", "date"),
            FormField("promotion_end", "Ngày kết thúc", "date"),
            FormField("promotion_value_vnd", "Tổng giá trị khuyến mại (VND)", "number"),
        ),
        attachments=(AttachmentSpec("promotion-rules", "Thể lệ chương trình khuyến mại", False),),
    ),
    _service(
        "tax-settlement",
        "Quyết toán thuế thu nhập cá nhân",
        "tax",
        "30",
        # No fee: filing a settlement costs nothing (the tax itself is not a fee).
        fee_vnd=0,
        fully_online=True,
        fields=(
            FormField("tax_code", "Mã số thuế", "text", required=False),
            FormField("tax_year", "Năm quyết toán", "number"),
            FormField("total_income_vnd", "Tổng thu nhập chịu thuế (VND)", "number"),
            FormField("tax_withheld_vnd", "Số thuế đã khấu trừ (VND)", "number", required=False),
        ),
        attachments=(AttachmentSpec("withholding-certificate", "Chứng từ khấu trừ thuế", False),),
    ),
    _service(
        "birth-registration-bundle",
        "Liên thông đăng ký khai sinh, thường trú, thẻ BHYT cho trẻ dưới 6 tuổi",
        "civil-status",
        "40",
        # No fee: registering a birth on time is exempt (Law on Civil Status 2014,
        # art. 11), and so are the residence entry and the under-6 health card.
        fee_vnd=0,
        fully_online=True,
        fields=(
            FormField("child_full_name", "Họ và tên trẻ", "text"),
            FormField("child_date_of_birth", "Ngày sinh của trẻ", "date"),
            FormField("child_gender", "Giới tính của trẻ", "select", options=("Nam", "Nữ")),
            FormField("relationship", "Quan hệ với trẻ", "select", options=("Cha", "Mẹ")),
        ),
        attachments=(AttachmentSpec("medical-birth-certificate", "Giấy chứng sinh", True),),
    ),
)

SERVICES_BY_CODE: dict[str, Service] = {s.code: s for s in SERVICES}
ATTACHMENT_KINDS: frozenset[str] = frozenset(a.kind for s in SERVICES for a in s.attachments)


def find_service(code: str) -> Service | None:
    """The service with this code, or ``None``."""
    return SERVICES_BY_CODE.get(code)
